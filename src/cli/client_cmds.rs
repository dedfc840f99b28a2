//! Client commands against a running server (API.md §9): `video create|get|list|cancel`,
//! `asset upload`, `models`, `account`. They use [`crate::client::Client`].
//!
//! Exit codes: 0 success, 1 a task that failed, 2 usage or API errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::client::{Client, ClientError, CreateVideoRequest, Task};

/// Where the server is and who is calling (shared by every client command).
#[derive(Args, Debug, Clone)]
pub(crate) struct ClientArgs {
    /// Server origin.
    #[arg(
        long,
        env = "REELAY_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// API key (`sk_...`).
    #[arg(long, env = "REELAY_API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
    /// Print raw JSON (the API's `data`) for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum VideoCommand {
    /// Create a video task; local image paths are uploaded as assets first.
    ///
    /// Example: reelay video create --model seedance2.0-sp --prompt "a lighthouse at dusk" --duration 5 --wait --output out.mp4
    Create(Box<CreateArgs>),
    /// Show one task.
    ///
    /// Example: reelay video get vid_8f3kq0c2m1x9d7zt4w6b
    Get {
        /// Task id.
        task_id: String,
    },
    /// List your tasks, newest first.
    ///
    /// Example: reelay video list --status completed --limit 10
    List {
        /// Only tasks in this status (queued, processing, completed, failed).
        #[arg(long)]
        status: Option<String>,
        /// How many (1-100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Cancel a queued task (refunded).
    ///
    /// Example: reelay video cancel vid_8f3kq0c2m1x9d7zt4w6b
    Cancel {
        /// Task id.
        task_id: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct CreateArgs {
    /// Model name (see `reelay models`).
    #[arg(long)]
    model: String,
    /// What to generate.
    #[arg(long)]
    prompt: String,
    /// Seconds (the model's default when omitted).
    #[arg(long)]
    duration: Option<u32>,
    /// 480p, 720p or 1080p.
    #[arg(long)]
    resolution: Option<String>,
    /// 16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or adaptive.
    #[arg(long)]
    ratio: Option<String>,
    /// Reference image: a local path, an https URL or asset://ID (repeatable).
    #[arg(long = "image")]
    images: Vec<String>,
    /// First frame: a local path, an https URL or asset://ID.
    #[arg(long)]
    first_frame: Option<String>,
    /// Last frame (with --first-frame).
    #[arg(long)]
    last_frame: Option<String>,
    /// URL to POST the task to when it ends (webhook).
    #[arg(long)]
    callback_url: Option<String>,
    /// Wait for the task to end, showing progress.
    #[arg(long)]
    wait: bool,
    /// Download the MP4 here once completed (implies --wait).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum AssetCommand {
    /// Upload an image, video or audio to your asset library (a local path or an https URL).
    ///
    /// Example: reelay asset upload ./cat.png
    Upload {
        /// Local file or URL.
        source: String,
        /// image, video or audio (guessed from the extension when omitted).
        #[arg(long = "type")]
        kind: Option<String>,
        /// Asset name (default: the file name).
        #[arg(long)]
        name: Option<String>,
    },
}

/// A failure of a client command, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure {
            code: 2,
            message: error.to_string(),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn connect(args: &ClientArgs) -> Result<Client, Failure> {
    if args.api_key.is_none() {
        return Err(usage(
            "no API key: pass --api-key sk_... or set REELAY_API_KEY",
        ));
    }
    Ok(Client::new(&args.url, args.api_key.clone())?)
}

fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// `reelay video …`.
pub async fn video(command: VideoCommand, args: ClientArgs) -> ExitCode {
    finish(video_inner(command, &args).await)
}

async fn video_inner(command: VideoCommand, args: &ClientArgs) -> Result<(), Failure> {
    let client = connect(args)?;
    match command {
        VideoCommand::Create(create) => create_video(&client, *create, args.json).await,
        VideoCommand::Get { task_id } => {
            let task = client.get_video(&task_id).await?;
            if args.json {
                print_json(&task)
            } else {
                print_task(&task);
                Ok(())
            }
        }
        VideoCommand::List { status, limit } => {
            let page = client
                .list_videos(status.as_deref(), Some(limit), None)
                .await?;
            if args.json {
                return print_json(&page);
            }
            for task in &page.items {
                println!(
                    "{}  {:<10} {:>3}%  {}",
                    task.task_id, task.status, task.progress, task.model
                );
            }
            if page.items.is_empty() {
                println!("no tasks");
            }
            Ok(())
        }
        VideoCommand::Cancel { task_id } => {
            let task = client.cancel_video(&task_id).await?;
            if args.json {
                print_json(&task)
            } else {
                println!("{} cancelled and refunded", task.task_id);
                Ok(())
            }
        }
    }
}

async fn create_video(client: &Client, args: CreateArgs, json: bool) -> Result<(), Failure> {
    let mut images = Vec::new();
    for image in &args.images {
        images.push(media_ref(client, image, json).await?);
    }
    let first_image = match &args.first_frame {
        Some(source) => Some(media_ref(client, source, json).await?),
        None => None,
    };
    let last_image = match &args.last_frame {
        Some(source) => Some(media_ref(client, source, json).await?),
        None => None,
    };
    let request = CreateVideoRequest {
        model: args.model.clone(),
        prompt: args.prompt.clone(),
        duration: args.duration.map(i64::from),
        resolution: args.resolution.clone(),
        ratio: args.ratio.clone(),
        // No `images` member at all when there are none.
        images: (!images.is_empty()).then_some(images),
        first_image,
        last_image,
        callback_url: args.callback_url.clone(),
        ..Default::default()
    };
    let created = match client.create_video(&request).await {
        Ok(created) => created,
        Err(error) => return Err(explain_create_error(client, error).await),
    };
    let wait = args.wait || args.output.is_some();
    if !wait {
        if json {
            return print_json(&created);
        }
        println!(
            "{} {} ({} credits)",
            created.task_id, created.status, created.cost.credits
        );
        return Ok(());
    }
    if !json {
        eprintln!("created {}", created.task_id);
    }
    let task = wait_for(client, &created.task_id, json).await?;
    if json {
        print_json(&task)?;
    } else {
        print_task(&task);
    }
    if task.status != "completed" {
        return Err(Failure {
            code: 1,
            message: format!(
                "task {} failed: {}",
                task.task_id,
                task.error_message.as_deref().unwrap_or("no reason given")
            ),
        });
    }
    if let Some(output) = &args.output {
        let bytes = client.download(&task.task_id, output).await?;
        if !json {
            println!("saved {} ({bytes} bytes)", output.display());
        }
    }
    Ok(())
}

/// Adds what a person needs to fix a refused create: the models for an unknown one, the
/// balance for a payment error.
async fn explain_create_error(client: &Client, error: ClientError) -> Failure {
    let mut message = error.to_string();
    match error.code() {
        Some(40002) => {
            if let Ok(models) = client.models().await {
                let names: Vec<String> = models.into_iter().map(|m| m.model).collect();
                message.push_str(&format!("\navailable models: {}", names.join(", ")));
            }
        }
        Some(40200) => {
            if let Ok(account) = client.account().await {
                message.push_str(&format!(
                    "\naccount {} has {} credits; ask the operator to add some (reelay credits add --account {} N)",
                    account.account_id, account.balance, account.account_id
                ));
            }
        }
        _ => {}
    }
    usage(message)
}

/// A media argument as the API takes it: URLs and `asset://` pass through; a local file is
/// uploaded as an asset and waited for until it is usable.
async fn media_ref(client: &Client, source: &str, quiet: bool) -> Result<String, Failure> {
    if ["https://", "http://", "asset://"]
        .iter()
        .any(|p| source.starts_with(p))
    {
        return Ok(source.to_string());
    }
    let path = Path::new(source);
    if !path.is_file() {
        return Err(usage(format!(
            "{source}: not a file, and not an https:// or asset:// reference"
        )));
    }
    let kind = kind_of(path).unwrap_or("image");
    let asset_id = client.upload_asset_file(path, kind).await?;
    if !quiet {
        eprintln!("uploaded {source} as asset://{asset_id}");
    }
    for _ in 0..120 {
        let detail = client.asset_detail(&asset_id).await?;
        match detail.status.as_str() {
            "Active" => return Ok(format!("asset://{asset_id}")),
            "Failed" => {
                return Err(usage(format!(
                    "asset {asset_id} ({source}) was refused: {}",
                    detail.reason.as_deref().unwrap_or("no reason given")
                )))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    Err(usage(format!(
        "asset {asset_id} ({source}) is still processing after 60 s"
    )))
}

/// The asset type of a file, from its extension.
fn kind_of(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "png" | "jpg" | "jpeg" | "webp" | "bmp" | "gif" => Some("image"),
        "mp4" | "mov" => Some("video"),
        "mp3" | "wav" => Some("audio"),
        _ => None,
    }
}

/// Follows a task to its end: the event stream when available, polling otherwise.
async fn wait_for(client: &Client, task_id: &str, quiet: bool) -> Result<Task, Failure> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(100);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:<10} [{bar:40}] {pos:>3}%")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    };
    let show = |task: &Task| {
        bar.set_message(task.status.clone());
        bar.set_position(task.progress.clamp(0, 100) as u64);
    };
    if let Ok(mut events) = client.events(task_id, None).await {
        while let Some(Ok(task)) = events.next().await {
            show(&task);
            if task.is_terminal() {
                bar.finish_and_clear();
                return Ok(task);
            }
        }
    }
    // The stream is unavailable or broke: poll.
    loop {
        let task = client.get_video(task_id).await?;
        show(&task);
        if task.is_terminal() {
            bar.finish_and_clear();
            return Ok(task);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn print_task(task: &Task) {
    println!(
        "{}  {}  {}%  {}",
        task.task_id, task.status, task.progress, task.model
    );
    if let Some(result) = &task.result {
        println!(
            "  {}x{}  {:.1}s  {} fps  {} bytes",
            result.width, result.height, result.duration, result.fps, result.size_bytes
        );
        match &result.video_url {
            Some(url) => println!("  {url}"),
            None => println!("  (video deleted after its retention period)"),
        }
    }
    if let Some(error) = &task.error {
        println!(
            "  failed: {}: {}",
            error.code,
            error.message.as_deref().unwrap_or("")
        );
    }
}

/// `reelay asset …`.
pub async fn asset(command: AssetCommand, args: ClientArgs) -> ExitCode {
    finish(asset_inner(command, &args).await)
}

async fn asset_inner(command: AssetCommand, args: &ClientArgs) -> Result<(), Failure> {
    let client = connect(args)?;
    let AssetCommand::Upload { source, kind, name } = command;
    let is_url = source.starts_with("https://") || source.starts_with("http://");
    let path = Path::new(&source);
    let kind = match kind.as_deref() {
        Some(kind) => kind.to_string(),
        None => kind_of(path)
            .ok_or_else(|| {
                usage(format!(
                    "{source}: cannot guess the type; pass --type image|video|audio"
                ))
            })?
            .to_string(),
    };
    let asset_id = if is_url {
        let name =
            name.unwrap_or_else(|| source.rsplit('/').next().unwrap_or("upload").to_string());
        client.upload_asset_url(&name, &kind, &source).await?
    } else {
        if !path.is_file() {
            return Err(usage(format!("{source}: no such file")));
        }
        client.upload_asset_file(path, &kind).await?
    };
    if args.json {
        print_json(&serde_json::json!({ "asset_id": asset_id }))
    } else {
        println!("{asset_id}");
        Ok(())
    }
}

/// `reelay models`.
pub async fn models(args: ClientArgs) -> ExitCode {
    finish(
        async {
            let client = connect(&args)?;
            let models = client.models().await?;
            if args.json {
                return print_json(&models);
            }
            for model in &models {
                let prices = serde_json::to_string(&model.prices).unwrap_or_default();
                println!("{:<28} {:<11} {prices}", model.model, model.billing);
            }
            Ok(())
        }
        .await,
    )
}

/// `reelay account`.
pub async fn account(args: ClientArgs) -> ExitCode {
    finish(
        async {
            let client = connect(&args)?;
            let account = client.account().await?;
            if args.json {
                return print_json(&account);
            }
            println!("account {} ({})", account.account_id, account.name);
            println!(
                "balance {} credits, spent {}",
                account.balance, account.spent_total
            );
            println!(
                "webhook secret {}",
                if account.webhook_secret_set {
                    "set"
                } else {
                    "not set"
                }
            );
            Ok(())
        }
        .await,
    )
}
