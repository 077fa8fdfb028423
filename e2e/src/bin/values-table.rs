//! `values-table`: rewrite the README's table of the chart's values (`just values-table`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Regenerate the values table in the README from charts/dotmac/values.schema.json and values.yaml.
#[derive(Parser, Debug)]
#[command(name = "values-table", version, about)]
struct Cli {
    /// The chart folder.
    #[arg(long, default_value = "charts/dotmac")]
    chart: PathBuf,
    /// The README holding the table.
    #[arg(long, default_value = "README.md")]
    readme: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let schema: serde_json::Value =
        serde_json::from_str(&read(cli.chart.join("values.schema.json"))?)
            .context("parsing values.schema.json")?;
    let values: serde_json::Value = serde_yaml::from_str(&read(cli.chart.join("values.yaml"))?)
        .context("parsing values.yaml")?;
    let readme = read(cli.readme.clone())?;
    let table = dotmac_e2e::chart::values_table(&schema, &values);
    let updated = dotmac_e2e::chart::with_table(&readme, &table)?;
    std::fs::write(&cli.readme, updated)
        .with_context(|| format!("writing {}", cli.readme.display()))?;
    eprintln!("{}: values table written", cli.readme.display());
    Ok(())
}
