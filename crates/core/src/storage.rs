//! Blob storage for uploaded files (job photos): a directory on disk under the data directory,
//! or an S3-compatible bucket. Keys are generated here, never taken from users, so they cannot
//! point outside the root.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Largest photo accepted, in bytes (phones produce 2-6 MB JPEGs).
pub const MAX_PHOTO_BYTES: usize = 12 * 1024 * 1024;

/// What a person is told when a photo is over [`MAX_PHOTO_BYTES`].
pub fn photo_too_large() -> String {
    format!("photos can be at most {} MB", MAX_PHOTO_BYTES / (1024 * 1024))
}

#[derive(Debug, Clone)]
pub enum BlobStore {
    Disk { root: PathBuf },
    S3(crate::providers::s3::S3Store),
}

impl BlobStore {
    pub fn on_disk(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore::Disk { root: root.into() }
    }

    pub fn s3(config: crate::providers::s3::S3Config) -> Result<BlobStore> {
        Ok(BlobStore::S3(crate::providers::s3::S3Store::new(config)?))
    }

    /// Where files go, for logs: a folder or `s3://bucket`.
    pub fn describe(&self) -> String {
        match self {
            BlobStore::Disk { root } => root.display().to_string(),
            BlobStore::S3(s) => s.describe(),
        }
    }

    /// A fresh key under `prefix` (`photos/3/17`) with a random name and the given extension.
    pub fn new_key(prefix: &str, ext: &str) -> String {
        let name = crate::secret::new_token();
        format!("{prefix}/{name}.{ext}")
    }

    fn check_key(key: &str) -> Result<()> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if !safe {
            return Err(Error::Unexpected(format!("refusing blob key {key:?}")));
        }
        Ok(())
    }

    fn path(root: &Path, key: &str) -> Result<PathBuf> {
        Self::check_key(key)?;
        Ok(root.join(key))
    }

    /// Stores the blob durably: on disk a temporary file, fsync, then rename into place; in S3
    /// a single PUT (S3 acknowledges only stored objects).
    pub async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<()> {
        let root = match self {
            BlobStore::Disk { root } => root,
            BlobStore::S3(s3) => {
                Self::check_key(key)?;
                return s3.put(key, bytes, content_type).await;
            }
        };
        let path = Self::path(root, key)?;
        let dir = path.parent().ok_or_else(|| Error::Unexpected("blob without a folder".into()))?;
        let io = |e: std::io::Error| Error::Unexpected(format!("storing {key}: {e}"));
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let tmp = path.with_extension("part");
        {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::File::create(&tmp).await.map_err(io)?;
            f.write_all(bytes).await.map_err(io)?;
            f.sync_all().await.map_err(io)?;
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let root = match self {
            BlobStore::Disk { root } => root,
            BlobStore::S3(s3) => {
                Self::check_key(key)?;
                return s3.get(key).await;
            }
        };
        let path = Self::path(root, key)?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound),
            Err(e) => Err(Error::Unexpected(format!("reading {key}: {e}"))),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        let root = match self {
            BlobStore::Disk { root } => root,
            BlobStore::S3(s3) => {
                Self::check_key(key)?;
                return s3.delete(key).await;
            }
        };
        match tokio::fs::remove_file(Self::path(root, key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Unexpected(format!("deleting {key}: {e}"))),
        }
    }
}

/// What an uploaded image really is, from its first bytes (the declared type is not trusted):
/// `(content type, extension)` for JPEG, PNG, WebP and HEIC, else `None`.
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"heim" | b"heis")
    {
        Some(("image/heic", "heic"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content_not_name() {
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(("image/jpeg", "jpg")));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some(("image/png", "png")));
        assert_eq!(sniff_image(b"RIFF\x10\x00\x00\x00WEBPVP8 "), Some(("image/webp", "webp")));
        assert_eq!(sniff_image(b"\x00\x00\x00\x18ftypheic\x00\x00"), Some(("image/heic", "heic")));
        assert_eq!(sniff_image(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[tokio::test]
    async fn blobs_round_trip_and_keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::on_disk(dir.path());
        let key = BlobStore::new_key("photos/1/2", "jpg");
        store.put(&key, b"abc", "image/jpeg").await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), b"abc");
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(Error::NotFound)));
        for bad in ["../etc/passwd", "photos/../../x", "/abs", "a//b", "", "a/b c"] {
            assert!(store.put(bad, b"x", "image/jpeg").await.is_err(), "{bad}");
        }
    }
}
