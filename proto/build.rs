//! Compiles `jiebang/v1/*.proto` with the vendored `protoc`, so no system install is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?) };

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut protos: Vec<PathBuf> = std::fs::read_dir("jiebang/v1")?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    println!("cargo:rerun-if-changed=jiebang/v1");

    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("jiebang_descriptor.bin"))
        .compile_protos(
            &protos,
            &[PathBuf::from("."), protoc_bin_vendored::include_path()?],
        )?;
    Ok(())
}
