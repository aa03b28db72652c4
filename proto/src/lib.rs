//! The `jiebang.v1` contracts compiled to Rust: messages, service traits and clients.
//!
//! The `.proto` files under `proto/jiebang/v1/` are the source of truth; this crate only
//! generates code from them (with a vendored `protoc`) and exposes the encoded file descriptor
//! set that the server's reflection service needs.

#![allow(clippy::all, clippy::pedantic)]

pub mod v1 {
    tonic::include_proto!("jiebang.v1");
}

/// The encoded `FileDescriptorSet` of every `jiebang.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("jiebang_descriptor");
