//! `ductor-agent`: one bot's worker process, started by `ductor`.

fn main() {
    println!("ductor-agent {}", env!("CARGO_PKG_VERSION"));
}
