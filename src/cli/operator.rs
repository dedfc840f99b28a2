//! Operator commands that act on the database directly: `keys create|list|revoke`, `credits add`.

use clap::Subcommand;

use super::ConfigArgs;
use crate::accounts;

#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Create an API key; without --account, also a new account holding --credits.
    ///
    /// Example: reelay keys create --name ci --credits 100000
    /// The secret is printed alone on the last line of stdout.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Starting credits of the new account (ignored with --account).
        #[arg(long, default_value_t = 0)]
        credits: i64,
        /// Add the key to this existing account instead of creating one.
        #[arg(long)]
        account: Option<String>,
        /// The most credits this key may spend (net of refunds); 0 = unlimited.
        #[arg(long, default_value_t = 0)]
        quota: i64,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List API keys (never their secrets).
    ///
    /// Example: reelay keys list --account acct_...
    List {
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke an API key by id.
    ///
    /// Example: reelay keys revoke key_...
    Revoke {
        key_id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum CreditsCommand {
    /// Add credits to an account (negative to remove), recorded in the ledger.
    ///
    /// Example: reelay credits add --account acct_... 50000
    Add {
        #[arg(long)]
        account: String,
        #[arg(allow_hyphen_values = true)]
        credits: i64,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

async fn open(config: &ConfigArgs) -> Result<crate::app::Database, String> {
    crate::app::open_database(&config.load()?, false).await
}

pub async fn keys(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create {
            name,
            credits,
            account,
            quota,
            config,
        } => {
            if quota < 0 {
                return Err("--quota must not be negative (0 = unlimited)".into());
            }
            let db = open(&config).await?;
            let key_id = match account {
                Some(account_id) => {
                    let made = accounts::create_key(&db, &account_id, &name, None)
                        .await
                        .map_err(|e| match e {
                            accounts::AccountError::NoAccount(_) => {
                                format!("no account {account_id}")
                            }
                            other => other.to_string(),
                        })?;
                    let key = made.key;
                    println!("account {account_id}");
                    println!("key {}", key.id);
                    if quota > 0 {
                        accounts::set_key_quota(&db, &key.id, quota)
                            .await
                            .map_err(|e| e.to_string())?;
                        println!("quota {quota} credits");
                    }
                    println!("{}", made.secret);
                    key.id
                }
                None => {
                    if credits < 0 {
                        return Err("--credits must not be negative".into());
                    }
                    let (account_id, key_id, secret) =
                        accounts::create_account_with_key(&db, &name, &name, credits)
                            .await
                            .map_err(|e| e.to_string())?;
                    println!("account {account_id} ({credits} credits)");
                    println!("key {key_id}");
                    if quota > 0 {
                        accounts::set_key_quota(&db, &key_id, quota)
                            .await
                            .map_err(|e| e.to_string())?;
                        println!("quota {quota} credits");
                    }
                    println!("{secret}");
                    key_id
                }
            };
            tracing::debug!(%key_id, "key created");
            db.close().await;
            Ok(())
        }
        KeysCommand::List { account, config } => {
            let db = open(&config).await?;
            let listed = accounts::list_keys(&db, account.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:<26} {:<26} {:<20} {:<10} {:<24} prefix",
                "key", "account", "name", "state", "spent / quota"
            );
            for key in listed {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let spending = match key.quota.filter(|q| *q > 0) {
                    Some(quota) => format!("{} / {quota}", key.quota_used),
                    None => format!("{} / unlimited", key.quota_used),
                };
                println!(
                    "{:<26} {:<26} {:<20} {:<10} {:<24} {}...",
                    key.id, key.account_id, key.name, state, spending, key.lookup
                );
            }
            db.close().await;
            Ok(())
        }
        KeysCommand::Revoke { key_id, config } => {
            let db = open(&config).await?;
            let revoked = accounts::revoke_key(&db, &key_id)
                .await
                .map_err(|e| e.to_string())?;
            db.close().await;
            if revoked {
                println!("revoked {key_id}");
                Ok(())
            } else {
                Err(format!("no active key {key_id}"))
            }
        }
    }
}

pub async fn credits(command: CreditsCommand) -> Result<(), String> {
    match command {
        CreditsCommand::Add {
            account,
            credits,
            config,
        } => {
            let db = open(&config).await?;
            let balance =
                accounts::adjust_credits(&db, &account, credits, Some("reelay credits add"))
                    .await
                    .map_err(|e| match e {
                        accounts::PostError::NoAccount => {
                            format!("no account {account}")
                        }
                        accounts::PostError::Insufficient { balance, .. } => format!(
                            "credits: removing {} would take the balance ({balance}) below zero",
                            credits.unsigned_abs()
                        ),
                        other => other.to_string(),
                    })?;
            db.close().await;
            println!("account {account} balance {balance}");
            Ok(())
        }
    }
}
