//! Connecting to the server, and the access token kept between runs.
//!
//! `jiebang login` stores the token in `<config dir>/jiebang/credentials.json` (overridable with
//! `JIEBANG_CONFIG_DIR`), keyed by server URL, readable only by the user. `JIEBANG_TOKEN` wins
//! over the file, for scripts.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// Adds the bearer token, when there is one, to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// Sends `token` with every call.
    pub fn token(token: &str) -> Result<Self> {
        let value = format!("Bearer {token}")
            .parse()
            .context("the server returned a malformed token")?;
        Ok(Self(Some(value)))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

pub struct Connection {
    pub channel: Channel,
    pub bearer: Bearer,
}

impl Connection {
    pub async fn open(server: &str) -> Result<Self> {
        let endpoint = Endpoint::from_shared(server.to_owned())
            .with_context(|| {
                format!("{server} is not a valid server URL (e.g. http://127.0.0.1:50051)")
            })?
            .connect_timeout(std::time::Duration::from_secs(5));
        let channel = endpoint.connect().await.map_err(|_| {
            anyhow::anyhow!(
                "cannot reach the jiebang server at {server}: is it running? \
                 (start it with `cargo run -p jiebang-server`, or pass --server)"
            )
        })?;
        let token = match std::env::var("JIEBANG_TOKEN") {
            Ok(token) if !token.is_empty() => Some(token),
            _ => Credentials::load()?.tokens.get(server).cloned(),
        };
        let bearer = Bearer(
            token
                .map(|t| format!("Bearer {t}").parse())
                .transpose()
                .context("the stored token is malformed; log in again")?,
        );
        Ok(Self { channel, bearer })
    }

    pub fn authed(&self) -> Authed {
        InterceptedService::new(self.channel.clone(), self.bearer.clone())
    }
}

/// Tokens per server URL.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    pub tokens: BTreeMap<String, String>,
}

fn credentials_path() -> Result<PathBuf> {
    let dir = match std::env::var_os("JIEBANG_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::config_dir()
            .context("no configuration directory on this system; set JIEBANG_CONFIG_DIR")?
            .join("jiebang"),
    };
    Ok(dir.join("credentials.json"))
}

impl Credentials {
    pub fn load() -> Result<Self> {
        let path = credentials_path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!("{} is corrupt; delete it and log in again", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn save(&self) -> Result<PathBuf> {
        let path = credentials_path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(path)
    }
}
