//! Link settings of the `mimamori` binary (nothing is generated).
//!
//! On Linux with glibc the binary's relative relocations are packed
//! (`-z pack-relative-relocs`, DT_RELR): the dynamic loader reads every
//! relocation at start, and as a classic `.rela.dyn` table they were 1.6 MB
//! of the binary that stayed resident in every `serve` process (RssFile;
//! BENCHMARKS.md, section 2). Packed, they are 30 KB. Needs GNU ld 2.38 or
//! lld to link and glibc 2.36 to run (Debian 12, Ubuntu 22.04); a linker
//! whose C library lacks DT_RELR support leaves the table as it was.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
