//! Uploads on their way in: every uploaded or downloaded file is written to a temporary file as
//! its bytes arrive, with the size cap checked on each chunk, then probed from the file and
//! sent to storage in parts. No upload is ever held in memory whole.
//!
//! The temporary files live in `{data_dir}/tmp`; each is deleted when its [`Spooled`] is dropped,
//! whatever the path (stored, refused, too large, the client gone mid-body).
//!
//! How many uploads one API key may have in progress at once (`limits.uploads_per_key`) is
//! counted at the edge (`api::per_key`).

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tempfile::TempPath;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Where uploads are written while they arrive.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: Arc<PathBuf>,
}

/// Why a file could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// More bytes arrived than the cap allows; nothing past the cap was written.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("writing a temporary file failed: {0}")]
    Io(#[from] io::Error),
}

impl Spool {
    /// Temporary files in `dir` (created when the first file is).
    pub fn new(dir: PathBuf) -> Spool {
        Spool { dir: Arc::new(dir) }
    }

    /// The directory of the temporary files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty temporary file taking at most `limit` bytes.
    pub async fn create(&self, limit: u64) -> Result<Spooled, SpoolError> {
        let dir = self.dir.clone();
        let named = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(dir.as_path())?;
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(dir.as_path())
        })
        .await
        .map_err(io::Error::other)??;
        let (file, path) = named.into_parts();
        Ok(Spooled {
            path,
            file: tokio::fs::File::from_std(file),
            size: 0,
            limit,
        })
    }
}

/// A file being written, or written, to the spool; deleted when dropped.
#[derive(Debug)]
pub struct Spooled {
    path: TempPath,
    file: tokio::fs::File,
    size: u64,
    limit: u64,
}

impl Spooled {
    /// Appends `chunk`, refusing it whole when it would take the file past its cap.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        if self.size + chunk.len() as u64 > self.limit {
            return Err(SpoolError::TooLarge { limit: self.limit });
        }
        self.file.write_all(chunk).await?;
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Flushes what was written; call once the last chunk is in.
    pub async fn finish(&mut self) -> Result<(), SpoolError> {
        self.file.flush().await?;
        Ok(())
    }

    /// Bytes written.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The temporary file's path (valid while `self` lives).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first `len` bytes (fewer when the file is shorter), for sniffing.
    pub async fn head(&self, len: usize) -> Result<Vec<u8>, SpoolError> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(self.path()).await?;
        let mut head = Vec::with_capacity(len.min(self.size as usize));
        file.take(len as u64).read_to_end(&mut head).await?;
        Ok(head)
    }
}

/// Writes go straight to the file and count toward its size (the fetcher writes through this;
/// it enforces the cap itself).
impl AsyncWrite for Spooled {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.file).poll_write(cx, buf);
        if let Poll::Ready(Ok(count)) = &written {
            this.size += *count as u64;
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spooled_file_refuses_bytes_past_its_cap_and_is_deleted_when_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path().join("tmp"));
        let mut file = spool.create(10).await.expect("creates");
        file.write(b"12345").await.expect("fits");
        file.write(b"67890").await.expect("fits exactly");
        assert!(matches!(
            file.write(b"x").await,
            Err(SpoolError::TooLarge { limit: 10 })
        ));
        file.finish().await.expect("flushes");
        assert_eq!(file.len(), 10);
        assert_eq!(file.head(4).await.expect("reads"), b"1234");
        let path = file.path().to_path_buf();
        assert!(path.exists());
        drop(file);
        assert!(!path.exists());
    }
}
