//! Short file work (a write to or a read from the page cache, no fsync) done from a task.

/// Runs `work` — file I/O that does not wait for the disk, such as appending a chunk
/// that the page cache takes or reading one it holds — without the two thread switches
/// of a blocking-pool task: on a multi-threaded runtime (the daemon's) in place, the
/// worker's other tasks moved meanwhile; on a current-thread runtime (tests, tools) on
/// the blocking pool. Work that waits for the disk (fsync) belongs on the pool.
pub async fn short<T, F>(work: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        Ok(tokio::task::block_in_place(work))
    } else {
        tokio::task::spawn_blocking(work).await
    }
}
