//! The `scalerisk` command: parse flags, run, map errors to exit codes (0 ok, 1 failure, 2 bad input).

use std::process::ExitCode;

fn main() -> ExitCode {
    // Past a file-size limit (`ulimit -f`) the kernel would kill the process with SIGXFSZ and
    // no message; ignored, the write fails with EFBIG instead, the run says so (exit 1) and
    // the atomic writers leave the previous results whole.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN, before any thread starts, touches no
    // memory of this program.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
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
