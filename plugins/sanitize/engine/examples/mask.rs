//! The sanitize engine as a native program, for the benchmark
//! (benches/sanitize.sh) to compare with the same code running as the wasm
//! plugin.
//!
//! ```sh
//! SANITIZE_KEY=… cargo run --release -p sanitize-engine --example mask -- POLICY.toml DUMP.sql OUT.sql
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;
use std::time::Instant;

use sanitize_engine::{self as engine, Policy};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [policy, dump, out] = &args[..] else {
        eprintln!("usage: mask POLICY.toml DUMP.sql OUT.sql (key in SANITIZE_KEY)");
        return ExitCode::from(2);
    };
    let key = std::env::var("SANITIZE_KEY").unwrap_or_default();
    let text = std::fs::read_to_string(policy).expect("policy file");
    let policy = match Policy::from_toml(policy, &text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let open = || {
        File::open(dump)
            .map(|f| BufReader::with_capacity(1 << 20, f))
            .map_err(|e| engine::Error::Read(e.to_string()))
    };
    let output = BufWriter::with_capacity(1 << 20, File::create(out).expect("output file"));
    let start = Instant::now();
    match engine::sanitize(open, output, &policy, key.as_bytes()) {
        Ok(report) => {
            let secs = start.elapsed().as_secs_f64();
            let mb = report.input_bytes as f64 / 1e6;
            eprint!("{}", report.render_columns());
            println!("{mb:.1} MB in {secs:.2} s: {:.1} MB/s", mb / secs);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
