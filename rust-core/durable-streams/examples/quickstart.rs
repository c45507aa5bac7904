//! Creates a stream, writes to it with a plain append and an idempotent producer, reads it back,
//! then tails it live until it is closed.
//!
//! Run against any Durable Streams server, e.g. the one `./build.sh servers` installs:
//!
//! ```text
//! target/test-servers/rust/bin/durable-streams-server --host 127.0.0.1 --port 4437 --data-dir /tmp/ds &
//! cargo run -p durable-streams-core --example quickstart -- http://127.0.0.1:4437
//! ```

use std::time::Duration;

use durable_streams_core::{
    Client, CreateOptions, LiveMode, Offset, ProducerOptions, ReadOptions, Result,
};

#[tokio::main]
async fn main() -> Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:4437".to_string());
    let client = Client::builder().base_url(base).build()?;
    let name = format!(
        "/quickstart/{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let stream = client.stream(&name)?;

    let created = stream
        .create(CreateOptions::new().content_type("text/plain"))
        .await?;
    println!("created {} (new: {})", stream.url(), created.created);

    // A plain append: sent once.
    stream.append("hello from a plain append\n").await?;

    // An idempotent producer: batched, pipelined, retried, exactly once.
    let producer = stream.producer("quickstart-writer", ProducerOptions::default())?;
    for i in 0..5 {
        producer.append(format!("token {i}\n").as_bytes()).await?;
    }
    let offset = producer.flush().await?;
    println!("producer delivered everything up to offset {offset:?}");

    // Catch-up read from the beginning.
    let mut read = stream.read(ReadOptions::new().offset(Offset::BEGINNING));
    while let Some(chunk) = read.next_chunk().await? {
        print!("{}", chunk.text()?);
    }
    let resume_from = read.offset().clone();

    // Live tail from where the catch-up ended; a closer ends it.
    let closer = {
        let producer_stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            producer_stream.append_and_close("goodbye\n").await
        })
    };
    let mut live = stream.read(ReadOptions::new().offset(resume_from).live(LiveMode::Auto));
    while let Some(chunk) = live.next_chunk().await? {
        print!("{}", chunk.text()?);
        if chunk.closed() {
            println!("(stream closed at offset {})", chunk.offset());
        }
    }
    closer.await.map_err(|e| {
        durable_streams_core::Error::new(durable_streams_core::ErrorKind::Network, e.to_string())
    })??;
    producer.detach().await?;
    Ok(())
}
