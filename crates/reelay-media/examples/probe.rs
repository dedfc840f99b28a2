//! Prints what reelay-media makes of local files: `cargo run -p reelay-media --example probe -- FILE...`.

fn main() {
    for path in std::env::args().skip(1) {
        match std::fs::read(&path) {
            Ok(bytes) => match reelay_media::probe(&bytes) {
                Ok(probe) => println!("{path}: {probe:?}"),
                Err(error) => println!("{path}: {error}"),
            },
            Err(error) => println!("{path}: cannot read: {error}"),
        }
    }
}
