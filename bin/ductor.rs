//! `ductor`: the supervisor and management CLI.

fn main() {
    println!("ductor {}", env!("CARGO_PKG_VERSION"));
}
