//! What the Debian package ships besides the binary, made from the CLI's own definition so it
//! can never disagree with it: man pages (clap_mangen: lwm2m-xdp(1) and one page per
//! subcommand) and shell completions (clap_complete: bash, zsh, fish). `cargo xtask package`
//! calls the hidden `lwm2m-xdp assets --out DIR`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap_complete::Shell;

/// The shells completions are made for, and the file names their packages look for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes `DIR/man/*.1` and `DIR/completions/{lwm2m-xdp.bash, _lwm2m-xdp, lwm2m-xdp.fish}`;
/// returns every file written.
pub fn write(cmd: clap::Command, out: &Path) -> Result<Vec<PathBuf>> {
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("writing man pages to {}", man.display()))?;
    let mut cmd = cmd;
    let name = cmd.get_name().to_owned();
    for shell in SHELLS {
        clap_complete::generate_to(shell, &mut cmd, &name, &completions)
            .with_context(|| format!("writing {shell} completions to {}", completions.display()))?;
    }
    let mut written = Vec::new();
    for dir in [&man, &completions] {
        for entry in std::fs::read_dir(dir)? {
            written.push(entry?.path());
        }
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_and_completions_for_every_visible_subcommand() {
        let cmd = clap::Command::new("lwm2m-xdp")
            .about("test")
            .subcommand(clap::Command::new("run").about("serve"))
            .subcommand(clap::Command::new("secret").hide(true));
        let dir = std::env::temp_dir().join(format!("lwm2m-xdp-assets-{}", std::process::id()));
        let files = write(cmd, &dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in [
            "lwm2m-xdp.1",
            "lwm2m-xdp-run.1",
            "lwm2m-xdp.bash",
            "_lwm2m-xdp",
            "lwm2m-xdp.fish",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("secret")), "{names:?}");
        let page = std::fs::read_to_string(dir.join("man/lwm2m-xdp-run.1")).unwrap();
        assert!(page.contains(".TH") && page.contains("serve"), "{page}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
