// `sqlx::migrate!` embeds the migration files at compile time, but on stable Rust it cannot
// tell Cargo about them; without this a changed or added migration would not rebuild the
// crate and the binary would carry the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
