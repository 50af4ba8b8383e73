//! The `switchboard` binary: see `cli` for its commands.

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
