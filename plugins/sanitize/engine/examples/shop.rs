//! Writes the generated shop database (tests/support/shop.rs) as a plain
//! pg_dump to stdout, for the benchmark (benches/sanitize.sh):
//!
//! ```sh
//! cargo run --release -p sanitize-engine --example shop -- 200000 > shop.sql
//! ```

use std::io::{BufWriter, Write};
use std::process::ExitCode;

#[path = "../tests/support/shop.rs"]
mod shop;

fn main() -> ExitCode {
    let customers = match std::env::args().nth(1).map(|n| n.parse::<usize>()) {
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: shop CUSTOMERS > dump.sql");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let shop = shop::Shop { customers, seed: 7 };
    if let Err(e) = shop.write(&mut out, None).and_then(|()| out.flush()) {
        eprintln!("shop: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
