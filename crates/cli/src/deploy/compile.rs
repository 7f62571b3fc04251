//! Step 2 of a deploy: every script compiled with the server's own
//! compiler before anything is sent.

use std::sync::Arc;

use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_shared::{AppId, SandboxCeilings, Script, ScriptCompiler, ScriptId, ScriptName};

use crate::failure::{Failure, Result};
use crate::manifest::Manifest;
use crate::output::Progress;

/// Compiles every script as the server would, before anything is sent.
pub(crate) async fn compile_check(m: &Manifest, progress: &Progress) -> Result<()> {
    let executor = LocalExecutor::new(ExecutorConfig {
        threads: 1,
        ceilings: SandboxCeilings::default(),
    });
    let total = m.scripts.len();
    for (i, s) in m.scripts.iter().enumerate() {
        let file = m.file_shown(s);
        progress.show(&format!("compiling [{}/{total}] {}", i + 1, file.display()));
        let name = ScriptName::parse(&s.name).map_err(|e| Failure::error(e.to_string()))?;
        let script = Script {
            id: ScriptId::new(),
            app_id: AppId::new(),
            name,
            source: s.source.clone(),
            version: 1,
            description: s.description.clone(),
            sandbox: s.sandbox,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        if let Err(e) = executor.compile(Arc::new(script)).await {
            return Err(Failure::error(format!(
                "{}:{}:{}: {}",
                file.display(),
                e.line.unwrap_or(1),
                e.column.unwrap_or(1),
                e.message
            )));
        }
    }
    progress.clear();
    Ok(())
}
