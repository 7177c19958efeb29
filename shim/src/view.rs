//! `weft view` and the receiver behind `weft go run`.
use anyhow::Result;
use std::process::Command;

pub fn serve(_listen: &str) -> Result<i32> {
    anyhow::bail!("not yet")
}

pub fn run_with_receiver(_cmd: Command) -> Result<i32> {
    anyhow::bail!("not yet")
}
