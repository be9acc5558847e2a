//! Reports as files a reader opens: the DOCX writer's sample converted to PDF by headless
//! LibreOffice, then measured with poppler (`pdfinfo`, `pdftotext`). LibreOffice and poppler are
//! required: when either is missing the test fails, it never skips (CI installs them). The DOCX
//! and the PDF are kept under `target/tmp/reports/`.

use services::reports::docx::docx;
use services::reports::model::Rendered;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs a tool to completion within `limit`, killing it past that so a hung LibreOffice cannot
/// stall the suite.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let name = format!("{:?}", cmd.get_program());
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| {
        panic!("{name} could not be started ({e}); install it: apt-get install -y libreoffice-writer poppler-utils")
    });
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{name} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn require(tool: &str, package: &str) {
    let found =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file())).unwrap_or(false);
    assert!(found, "{tool} is required for the report tests: apt-get install -y {package}");
}

/// Convert a DOCX to PDF with headless LibreOffice; the PDF's `pdfinfo` and its text, without
/// whitespace.
fn pdf_of(file: &Path, dir: &Path) -> (String, String) {
    let profile = format!("-env:UserInstallation=file://{}", dir.join("profile").display());
    run(
        Command::new("soffice")
            .arg(&profile)
            .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
            .arg(dir)
            .arg(file),
        Duration::from_secs(180),
    );
    let pdf = file.with_extension("pdf");
    let info =
        String::from_utf8_lossy(&run(Command::new("pdfinfo").arg(&pdf), Duration::from_secs(30)).stdout).into_owned();
    let text = String::from_utf8_lossy(
        &run(Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-"), Duration::from_secs(30)).stdout,
    )
    .into_owned();
    (info, text.split_whitespace().collect())
}

/// The demo's 综述 for the 11th batch, from the command line, as a document: A4, its title, and
/// the figures of the seed article as the report states them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_summary_is_a_document_with_its_figures() {
    require("soffice", "libreoffice-writer");
    require("pdftotext", "poppler-utils");
    let db = crate::support::TestDb::new(crate::support::Backend::Sqlite).await;
    let out = crate::support::cli(&db).arg("demo").output().expect("run demo");
    assert!(out.status.success(), "demo: {}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("summary.docx");
    let out = crate::support::cli(&db)
        .args(["report", "summary", "--period", "2023-04-20..2026-11-29", "--format", "docx", "--out"])
        .arg(&file)
        .output()
        .expect("run report");
    assert!(out.status.success(), "report: {}", String::from_utf8_lossy(&out.stderr));
    let (info, flat) = pdf_of(&file, dir.path());
    assert!(info.contains("(A4)"), "{info}");
    for want in [
        "江西省对口支援克州工作综述",
        "十一批777名",
        "4000余名学生",
        "“光明行动”完成白内障手术312例",
        "66名柔性援疆医生",
        "投资额41.36亿元",
        "援疆资金到位与拨付情况（按年度）",
        "附件：数据来源与口径",
        "med.cataract_surgeries",
    ] {
        assert!(flat.contains(want), "{want:?} not in the summary's PDF");
    }
    // Every figure the report states is in the document, as the report shows it.
    let store = db.store().await;
    let last = store.generated_reports(1).await.expect("list")[0].id;
    let rendered: Rendered =
        serde_json::from_str(&store.generated_report(last).await.expect("kept")).expect("the kept report reads back");
    store.close().await;
    assert!(rendered.figures.len() >= 48, "{} figures", rendered.figures.len());
    for s in &rendered.sections {
        for b in &s.blocks {
            if let services::reports::model::Block::Paragraph { runs } = b {
                for r in runs {
                    if let services::reports::model::Run::Figure { key, shown } = r {
                        assert!(flat.contains(shown.as_str()), "{key}: {shown:?} not in the summary's PDF");
                    }
                }
            }
        }
    }
    // The template's two charts: each plots its table's rows, and the PDF carries them as images.
    let blocks: Vec<&services::reports::model::Block> = rendered.sections.iter().flat_map(|s| &s.blocks).collect();
    let charts: Vec<&services::reports::model::Chart> = blocks
        .iter()
        .filter_map(|b| match b {
            services::reports::model::Block::Chart(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(charts.len(), 2);
    let years = blocks
        .iter()
        .find_map(|b| match b {
            services::reports::model::Block::Table(t) if t.sheet == "资金" => Some(t),
            _ => None,
        })
        .expect("the funds table");
    assert_eq!(charts[0].labels.len(), years.rows.len());
    assert!(!charts[0].svg.contains(&charts[0].title), "the title is the caption, not drawn inside");
    assert!(flat.contains(&charts[0].title), "the chart's caption is in the PDF");
    require("pdfimages", "poppler-utils");
    let images = String::from_utf8_lossy(
        &run(Command::new("pdfimages").arg("-list").arg(file.with_extension("pdf")), Duration::from_secs(30)).stdout,
    )
    .into_owned();
    // Two header lines, then one line per image.
    assert!(images.lines().count() >= 2 + 2, "{images}");
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports");
    std::fs::create_dir_all(&keep).expect("reports directory");
    for f in [file.clone(), file.with_extension("pdf")] {
        std::fs::copy(&f, keep.join(f.file_name().expect("a file name"))).expect("keep the output");
    }
}

#[test]
fn docx_opens_in_libreoffice_as_a4_with_the_figures() {
    require("soffice", "libreoffice-writer");
    require("pdfinfo", "poppler-utils");
    require("pdftotext", "poppler-utils");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.docx");
    std::fs::write(&file, docx(&Rendered::sample()).expect("docx")).expect("write the docx");

    // A profile of its own, so parallel runs (and a user's LibreOffice) do not share a lock.
    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("profile").display());
    let start = Instant::now();
    run(
        Command::new("soffice")
            .arg(&profile)
            .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
            .arg(dir.path())
            .arg(&file),
        Duration::from_secs(180),
    );
    eprintln!("LibreOffice converted the DOCX to PDF in {:.1?}", start.elapsed());
    let pdf = dir.path().join("report.pdf");
    assert!(pdf.is_file(), "no PDF written");

    let info =
        String::from_utf8_lossy(&run(Command::new("pdfinfo").arg(&pdf), Duration::from_secs(30)).stdout).into_owned();
    let size = info.lines().find(|l| l.starts_with("Page size:")).unwrap_or_else(|| panic!("no page size: {info}"));
    eprintln!("{size}");
    // "Page size:      595.304 x 841.89 pts (A4)"
    let nums: Vec<f64> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!(
        matches!(nums[..], [w, h] if (w - 595.3).abs() < 1.0 && (h - 841.9).abs() < 1.0),
        "not A4 portrait: {size}"
    );
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count: {info}"));
    // The text and the appendix, which starts on a page of its own.
    assert!(pages >= 2, "{pages} pages");

    let text = String::from_utf8_lossy(
        &run(Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-"), Duration::from_secs(30)).stdout,
    )
    .into_owned();
    let flat: String = text.split_whitespace().collect();
    for want in [
        "江西省对口支援克州工作综述",
        "777名",
        "35109.43万元",
        "十一批",
        "援疆资金到位与拨付情况",
        "100.0",
        "合计",
        "江西省援疆前方指挥部",
        "2026年11月29日",
        "附件：数据来源与口径",
        "2026年11月29日14:00",
        "—1—",
        "—2—",
    ] {
        assert!(flat.contains(want), "{want:?} not in the PDF's text:\n{text}");
    }
    assert!(Path::new(&pdf).metadata().map(|m| m.len()).unwrap_or(0) > 1000);

    // Kept for a reader to look at, like the browser tests' screenshots.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports");
    std::fs::create_dir_all(&keep).expect("reports directory");
    for f in [&file, &pdf] {
        std::fs::copy(f, keep.join(f.file_name().expect("a file name"))).expect("keep the output");
    }
}
