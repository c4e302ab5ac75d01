//! The command line as documented by the binary itself: `--help` of every
//! command (kept as insta snapshots, so that a change shows in review),
//! shell completions and the manual page, all from the same definitions.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn pycache(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pycache"))
        .args(args)
        // clap wraps help to the terminal, or to COLUMNS.
        .env("COLUMNS", "100")
        .output()
        .expect("run pycache")
}

fn stdout(args: &[&str]) -> String {
    let out = pycache(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The commands `pycache --help` lists, `help` aside.
fn commands() -> Vec<String> {
    let help = stdout(&["--help"]);
    let listing = help.split("Commands:\n").nth(1).expect("a command list");
    listing
        .lines()
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn help_of_every_command() {
    let commands = commands();
    assert_eq!(
        commands,
        ["compile", "interpreters", "doctor", "clean", "stub", "show", "dis", "diff", "verify", "completions", "man"]
    );
    insta::assert_snapshot!("help", stdout(&["--help"]));
    for command in &commands {
        insta::assert_snapshot!(format!("help_{command}"), stdout(&[command, "--help"]));
    }
}

#[test]
fn global_options_are_listed_once_and_worded_for_each_command() {
    let top = stdout(&["--help"]);
    assert_eq!(top.matches("Global options:").count(), 1);
    assert_eq!(top.matches("--verbose").count(), 1, "{top}");
    // Where an option changes nothing, its command does not offer it; where
    // it does, it says what it does there.
    for command in ["show", "dis", "diff"] {
        let help = stdout(&[command, "--help"]);
        for option in ["--verbose", "--quiet", "--no-progress", "Global options"] {
            assert!(!help.contains(option), "{command} --help offers {option}:\n{help}");
        }
    }
    let compile = stdout(&["compile", "--help"]);
    assert!(compile.contains("List each cache written"), "{compile}");
    let doctor = stdout(&["doctor", "--help"]);
    assert!(doctor.contains("Every finding of each code"), "{doctor}");
    assert!(!doctor.contains("each cache written"), "{doctor}");
    for command in commands().iter().filter(|c| *c != "compile") {
        let help = stdout(&[command, "--help"]);
        for words in ["each file compiled", "each cache written"] {
            assert!(!help.contains(words), "{command} --help says `{words}`:\n{help}");
        }
    }
    // Hidden options are still accepted, so a script may pass them to any command.
    let out = pycache(&["show", "-v", "-q", "--no-progress", "/nonexistent.pyc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pyc"));
}

fn shell(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

/// Runs `shell` on `script` with `args` (a syntax check) and returns its
/// output.
fn check_script(shell: &Path, args: &[&str], script: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("completion");
    std::fs::write(&file, script).unwrap();
    Command::new(shell).args(args).arg(&file).output().unwrap()
}

#[test]
fn completions_are_valid_scripts_for_each_shell() {
    for (name, args) in [("bash", &["-n"][..]), ("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let script = pycache(&["completions", name]);
        assert_eq!(script.status.code(), Some(0), "{name}");
        let text = String::from_utf8_lossy(&script.stdout);
        // Generated from the definitions: every command and option is in it.
        for word in ["compile", "doctor", "invalidation-mode", "manifest", "checked-hash"] {
            assert!(text.contains(word), "{name} completions lack {word}");
        }
        let Some(program) = shell(name) else {
            eprintln!(
                "SKIP completions_are_valid_scripts_for_each_shell: {name} is not installed, its script is not checked"
            );
            continue;
        };
        let out = check_script(&program, args, &script.stdout);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// bash loads the script and completes a command line with it.
#[test]
fn bash_completes_commands_and_values() {
    let Some(bash) = shell("bash") else {
        eprintln!("SKIP bash_completes_commands_and_values: bash is not installed");
        return;
    };
    let script = pycache(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pycache.bash"), &script).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let probe = format!(
            "source ./pycache.bash\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
             _pycache pycache '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new(&bash).arg("-c").arg(probe).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = complete("pycache com");
    assert!(commands.lines().any(|l| l == "compile") && commands.lines().any(|l| l == "completions"), "{commands}");
    let modes = complete("pycache compile --invalidation-mode ");
    assert_eq!(modes.lines().collect::<Vec<_>>(), ["timestamp", "checked-hash", "unchecked-hash"], "{modes}");
}

#[test]
fn the_manual_pages_render() {
    let page = pycache(&["man"]);
    assert_eq!(page.status.code(), Some(0));
    let roff = String::from_utf8(page.stdout.clone()).unwrap();
    assert!(roff.contains(".TH pycache 1"), "{roff}");
    for command in ["compile", "doctor", "man"] {
        assert!(roff.contains(&format!("pycache\\-{command}(1)")), "the page does not refer to pycache-{command}");
    }
    let compile = String::from_utf8(pycache(&["man", "compile"]).stdout).unwrap();
    assert!(
        compile.contains(&format!(".TH pycache-compile 1  \"pycache {}\"", env!("CARGO_PKG_VERSION")))
            && compile.contains("\\-\\-manifest"),
        "{compile}"
    );
    let unknown = pycache(&["man", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no page for `nope`"));

    // Every page is written with --out-dir, and renders without a warning.
    let dir = tempfile::tempdir().unwrap();
    let written = pycache(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", String::from_utf8_lossy(&written.stderr));
    let mut pages: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    pages.sort();
    let mut expected: Vec<String> = commands().iter().map(|c| format!("pycache-{c}.1")).collect();
    expected.push("pycache.1".to_owned());
    expected.sort();
    assert_eq!(pages, expected);
    let Some(groff) = shell("groff") else {
        eprintln!("SKIP the_manual_pages_render: groff is not installed, the pages are not rendered");
        return;
    };
    for page in &pages {
        let mut child = Command::new(&groff)
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&std::fs::read(dir.path().join(page)).unwrap()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{page}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
