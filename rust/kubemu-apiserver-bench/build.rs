//! Compiles kubemu's API proto with protox (pure Rust: no system protoc); client only.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = "kubemu/v1/api.proto";
    let fds = protox::compile([file], [&root])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.join(file).display());
    Ok(())
}
