//! The `scalerisk` command: parse flags, run, map errors to exit codes (0 ok, 1 failure, 2 bad input).

use std::process::ExitCode;

fn main() -> ExitCode {
    scalerisk::backend::gpu::quiet_runtime_dir();
    match scalerisk::cli::run() {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            scalerisk::error::say(format!("error: {e:#}"));
            match e.downcast_ref::<scalerisk::Error>() {
                Some(err) if err.is_input() => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}
