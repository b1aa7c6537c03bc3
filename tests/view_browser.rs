//! The step-through page in a real browser: Debian's Chromium (installed by `.ci/run`), driven
//! headless through `headless_chrome` with the installed binary (never a downloaded one). The
//! page of a trace file is loaded; next and previous are pressed (buttons and arrow keys), and
//! the displayed step, highlighted source line, changed cells, canvas and counters are compared
//! with the trace file as `apmdm::view::TraceFile` reads it.
//!
//! With CI=true a browser that does not start fails the test; otherwise the test says why and
//! passes. `APMDM_SCREENSHOTS=DIR` also writes two screenshots of the page to DIR.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::apmdm;
use apmdm::view::TraceFile;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("APMDM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The browser, or `None` (after saying why) when none starts outside CI.
fn browser(profile: &Path) -> Option<Browser> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let Some(path) = chromium() else {
        assert!(
            !ci,
            "CI=true but no Chromium at /usr/bin/chromium: install Debian's chromium"
        );
        eprintln!("skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)");
        return None;
    };
    let options = LaunchOptions {
        path: Some(path.clone()),
        headless: true,
        sandbox: false,
        enable_gpu: false,
        window_size: Some((1280, 900)),
        user_data_dir: Some(profile.to_path_buf()),
        idle_browser_timeout: Duration::from_secs(60),
        args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        .iter()
        .map(OsStr::new)
        .collect(),
        ..LaunchOptions::default()
    };
    match Browser::new(options) {
        Ok(b) => Some(b),
        Err(e) if !ci => {
            eprintln!("skipped: {} did not start: {e}", path.display());
            None
        }
        Err(e) => panic!("CI=true but {} did not start: {e}", path.display()),
    }
}

/// What the page shows now.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Shown {
    step: String,
    round: String,
    phase: String,
    context: String,
    peak: String,
    lines: Vec<String>,
    changed: Vec<usize>,
    texts: Vec<String>,
    ops: Vec<String>,
    slider: String,
}

const READ: &str = r##"JSON.stringify({
  step: document.getElementById("step").textContent,
  round: document.getElementById("round").textContent,
  phase: document.getElementById("phase").textContent,
  context: document.getElementById("context").textContent,
  peak: document.getElementById("peak").textContent,
  lines: [...document.querySelectorAll("#source li.current")].map((l) => l.dataset.line),
  changed: [...document.querySelectorAll("#canvas .cell.changed")].map((c) => Number(c.dataset.pos)),
  texts: [...document.querySelectorAll("#canvas .cell .t")].map((t) => t.textContent),
  ops: [...document.querySelectorAll("#canvas .cell")].map((c) => c.dataset.op),
  slider: document.getElementById("slider").value,
})"##;

fn shown(tab: &Tab) -> Shown {
    let v = tab.evaluate(READ, false).unwrap().value.unwrap();
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

/// What the page must show at step k, computed from the trace file alone.
fn expected(file: &TraceFile, k: usize) -> Shown {
    let canvases = file.canvases().unwrap();
    let x = &canvases[k];
    let mut ops = Vec::new();
    if k == 0 {
        ops = vec!["initial".to_string(); x.tokens.len()];
    } else {
        for c in file.steps[k - 1].ops.chars() {
            let name = match c.to_ascii_lowercase() {
                'k' => "keep",
                'u' => "unmask",
                'r' => "remask",
                'h' => "hold",
                _ => "",
            };
            if !name.is_empty() {
                ops.push(name.to_string());
            }
            if c.is_ascii_uppercase() {
                ops.push("insert".to_string());
            }
        }
    }
    let changed = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.as_str(), "unmask" | "remask" | "insert"))
        .map(|(i, _)| i)
        .collect();
    let step = k.checked_sub(1).map(|i| &file.steps[i]);
    let round = step.and_then(|s| s.round);
    let lines = round
        .and_then(|r| file.rounds.iter().find(|x| x.round == r))
        .map(|r| vec![r.line.to_string()])
        .unwrap_or_default();
    let peak = (0..=k).map(|i| canvases[i].tokens.len()).max().unwrap();
    Shown {
        step: k.to_string(),
        round: round.map_or("-".into(), |r| r.to_string()),
        phase: step
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "-".into()),
        context: x.tokens.len().to_string(),
        peak: peak.to_string(),
        lines,
        changed,
        texts: x.text.clone(),
        ops,
        slider: k.to_string(),
    }
}

fn click(tab: &Tab, id: &str) {
    tab.find_element(&format!("#{id}"))
        .unwrap()
        .click()
        .unwrap();
}

#[test]
fn the_page_steps_through_a_trace_in_chromium() {
    let dir = std::env::temp_dir().join(format!("apmdm-view-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The tight AP-MDM layout of tqbf at n = 1: remasks, inserts, deletes and phases.
    let jsonl = dir.join("t.jsonl");
    let page = dir.join("t.html");
    let (code, out, err) = apmdm(&[
        "trace",
        "tqbf",
        "--target",
        "apmdm",
        "--layout",
        "tight",
        "--n",
        "1",
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = apmdm(&[
        "view",
        jsonl.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let file = TraceFile::read(&std::fs::read_to_string(&jsonl).unwrap()).unwrap();
    let total = file.steps.len();
    assert!(total > 10);

    let Some(browser) = browser(&dir.join("profile")) else {
        return;
    };
    let tab = browser.new_tab().unwrap();
    let url = format!("file://{}", page.display());
    tab.navigate_to(&url).unwrap();
    tab.wait_until_navigated().unwrap();
    tab.wait_for_element("#canvas .cell").unwrap();

    assert_eq!(shown(&tab), expected(&file, 0), "at x_0");
    let steps_text = tab
        .find_element("#steps")
        .unwrap()
        .get_inner_text()
        .unwrap();
    assert_eq!(steps_text, total.to_string());
    // Next by the button, three times, then by the arrow key, three times.
    let mut k = 0;
    for _ in 0..3 {
        click(&tab, "next");
        k += 1;
        assert_eq!(shown(&tab), expected(&file, k), "after next to {k}");
    }
    for _ in 0..3 {
        tab.press_key("ArrowRight").unwrap();
        k += 1;
        assert_eq!(shown(&tab), expected(&file, k), "after ArrowRight to {k}");
    }
    // Back by the key and the button.
    tab.press_key("ArrowLeft").unwrap();
    k -= 1;
    assert_eq!(shown(&tab), expected(&file, k), "after ArrowLeft to {k}");
    click(&tab, "prev");
    k -= 1;
    assert_eq!(shown(&tab), expected(&file, k), "after previous to {k}");
    // A step with an insert or a delete, reached by the slider's own handler.
    let grow = file
        .steps
        .iter()
        .position(|s| s.counts.insert > 0)
        .expect("the tight layout grows")
        + 1;
    tab.evaluate(
        &format!(
            "const s = document.getElementById('slider'); s.value = '{grow}'; \
             s.dispatchEvent(new Event('input'));"
        ),
        false,
    )
    .unwrap();
    assert_eq!(shown(&tab), expected(&file, grow), "slider to {grow}");
    // Jump to round 2: the first step that serves round 2 or later.
    let want = file
        .steps
        .iter()
        .position(|s| s.round.is_some_and(|r| r >= 2))
        .unwrap()
        + 1;
    tab.find_element("#round-input")
        .unwrap()
        .click()
        .unwrap()
        .type_into("2")
        .unwrap();
    click(&tab, "jump");
    assert_eq!(shown(&tab), expected(&file, want), "jump to round 2");
    click(&tab, "last");
    assert_eq!(shown(&tab), expected(&file, total), "last");
    click(&tab, "next");
    assert_eq!(shown(&tab), expected(&file, total), "next past the last");
    click(&tab, "first");
    assert_eq!(shown(&tab), expected(&file, 0), "first");
    click(&tab, "prev");
    assert_eq!(shown(&tab), expected(&file, 0), "previous before the first");

    if let Ok(out) = std::env::var("APMDM_SCREENSHOTS") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        for (k, name) in [(want, "view_step_a.png"), (grow, "view_step_b.png")] {
            tab.evaluate(&format!("window.apmdmViewer.show({k})"), false)
                .unwrap();
            let png = tab
                .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
                .unwrap();
            std::fs::write(out.join(name), png).unwrap();
        }
    }
    drop(tab);
    drop(browser);
    let _ = std::fs::remove_dir_all(&dir);
}
