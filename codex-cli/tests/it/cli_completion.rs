//! Shell completions and man pages (issue 18), generated from the clap
//! definitions: the bash script is loaded into a real bash and asked to
//! complete `codex lo`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::process::Command;
use support::{Home, code, stderr, stdout};

#[test]
fn bash_completes_lo_to_login_and_logout() {
    let home = Home::offline();
    let out = home.run(&["completion", "bash"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let script = home.path().join("codex.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source \"$1\" || exit 9\n\
             complete -p codex >/dev/null || exit 8\n\
             COMP_WORDS=({words})\n\
             COMP_CWORD={cword}\n\
             COMP_LINE='{line}'\n\
             COMP_POINT=${{#COMP_LINE}}\n\
             _codex codex '{cur}' '{prev}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words = words.join(" "),
            cword = words.len() - 1,
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let run = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program, "bash"])
            .arg(&script)
            .output()
            .expect("bash runs");
        assert!(
            run.status.success(),
            "{:?}: {}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(complete("codex lo"), ["login", "logout"]);
    assert_eq!(complete("codex to"), ["token"]);
    let flags = complete("codex token --");
    assert!(flags.contains(&"--min-valid".to_owned()), "{flags:?}");
    // The man page generator is not a command anyone should be offered.
    assert!(complete("codex _").is_empty());
}

#[test]
fn other_shells_get_scripts_naming_the_commands() {
    let home = Home::offline();
    for (shell, marker) in [
        ("zsh", "#compdef codex"),
        ("fish", "complete -c codex"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = home.run(&["completion", shell], None);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("login") && script.contains("whoami"),
            "{shell}"
        );
    }
    let out = home.run(&["completion", "tcsh"], None);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).is_empty());
}

#[test]
fn man_pages_are_roff_and_cover_every_command() {
    let home = Home::offline();
    let dir = home.path().join("man");
    let out = home.run(&["__man", dir.to_str().unwrap()], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.join("codex.1")).unwrap();
    assert!(page.contains(".TH codex 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    assert!(page.contains("codex\\-login(1)"), "{page}");
    let token = std::fs::read_to_string(dir.join("codex-token.1")).unwrap();
    assert!(token.contains("min\\-valid"), "{token}");
    assert!(dir.join("codex-login-status.1").exists());

    let out = home.run(&["__man"], None);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("usage: codex __man <DIR>"));
}
