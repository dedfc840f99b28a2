//! The data directory and the SQLite database file, kept private: the directory is made `0700`
//! and the database files `0600`. A start is refused on a directory that other users can write
//! (they could replace the database); a directory others can read is used with a warning (the
//! files inside are `0600` anyway).

use std::path::{Path, PathBuf};

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data dir {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "data dir {path} can be written by other users (mode {mode:o}): they could replace the \
         database; run `chmod 700 {path}` (or `chmod go-w`) and start again"
    )]
    WritableByOthers { path: PathBuf, mode: u32 },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` (and its parents) `0700` when missing; refuses it when group or others can
/// write it, warns when they can read it.
pub fn prepare(path: &Path) -> Result<(), DataDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !path.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(io(path))?;
        }
        let mode = std::fs::metadata(path)
            .map_err(io(path))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o022 != 0 {
            return Err(DataDirError::WritableByOthers {
                path: path.to_path_buf(),
                mode,
            });
        }
        if mode & 0o044 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the data directory can be read by other users; `chmod 700` it"
            );
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(path).map_err(io(path))
    }
}

/// The file of a `sqlite://` URL, if it is one on disk.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Makes the SQLite database of `url` `0600` before it is opened: created empty with that mode
/// when missing (SQLite gives its `-wal` and `-shm` files the database file's mode), tightened
/// when it exists with a wider one. Nothing for other databases.
pub fn private_database_file(url: &str) -> Result<(), DataDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let Some(file) = sqlite_file(url) else {
            return Ok(());
        };
        if !file.exists() {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.exists() {
                    prepare(parent)?;
                }
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&file)
                .map_err(io(&file))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", file.display()));
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io(&path))?;
                tracing::info!(path = %path.display(), was = format!("{mode:o}"), "database file made private (0600)");
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = url;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn a_new_data_dir_and_database_are_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/data");
        prepare(&dir).expect("made");
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("reelay.db");
        private_database_file(&format!("sqlite://{}?mode=rwc", db.display())).expect("file");
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        private_database_file(&format!("sqlite://{}", db.display())).expect("tightened");
        assert_eq!(mode(&db), 0o600);
        assert!(private_database_file("postgres://x@y/z").is_ok());
        assert!(private_database_file("sqlite::memory:").is_ok());
    }

    #[test]
    fn a_data_dir_others_can_write_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let error = prepare(root.path()).expect_err("refused");
        assert!(error.to_string().contains("chmod 700"), "{error}");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        prepare(root.path()).expect("readable by others is a warning only");
    }
}
