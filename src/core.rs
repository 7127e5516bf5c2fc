//! The transport-neutral core of one agent, assembled in dependency order: the
//! state registries, the engine (with the lanes' bindings), the conversations, then
//! the services built on them (named sessions, tasks). Transports and the command
//! layer ([`crate::ops`]) hold an `Arc<Core>`; the core holds no transport.

use crate::address::Directory;
use crate::config::LiveConfig;
use crate::exec::Launcher;
use crate::ipc::BusClient;
use crate::named::registry::NamedRegistry;
use crate::named::{Named, NamedBinding};
use crate::paths::AgentPaths;
use crate::provider::models::ModelCatalogue;
use crate::session::outbox::OutboxTx;
use crate::session::{Bindings, Conversations, Engine};
use crate::tasks::{HubParts, TaskBinding, TaskHub};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the core is built from.
#[derive(Debug, Clone)]
pub struct CoreParts {
    /// The agent's paths.
    pub paths: AgentPaths,
    /// The agent's config.
    pub config: LiveConfig,
    /// Where runs leave the agent.
    pub launcher: Arc<dyn Launcher>,
    /// The bus, when a supervisor runs.
    pub bus: Option<BusClient>,
    /// Which chats the agent's transports serve.
    pub directory: Arc<dyn Directory>,
    /// Deliveries to the chats.
    pub outbox: OutboxTx,
    /// Models per provider.
    pub catalogue: Arc<ModelCatalogue>,
}

/// One agent's core.
pub struct Core {
    /// The agent's paths.
    pub paths: AgentPaths,
    /// The agent's config.
    pub config: LiveConfig,
    /// Every conversation and what runs in it.
    pub conversations: Conversations,
    /// Named and inter-agent sessions.
    pub named: Named,
    /// Background tasks.
    pub tasks: TaskHub,
    /// Cron jobs.
    pub cron: crate::cron::Cron,
    /// Deliveries to the chats.
    pub outbox: OutboxTx,
    /// Models per provider (`/model`, `@model`).
    pub catalogue: Arc<ModelCatalogue>,
    /// Which chats the agent's transports serve.
    pub directory: Arc<dyn Directory>,
    /// The bus, when a supervisor runs.
    pub bus: Option<BusClient>,
    /// Cancelled to ask the agent to restart (exit code 42).
    pub restart: CancellationToken,
    /// The cap on CLI runs at once (`max_concurrent_runs`).
    pub slots: Arc<crate::exec::slots::RunSlots>,
    /// The wall clock schedules follow (a test's own clock in tests).
    pub clock: crate::cron::Clock,
    /// Warm live CLI processes and their pending requests.
    pub live: Arc<crate::exec::live::LiveHub>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("agent", &self.paths.name())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Loads the agent's state and starts its services. Inside a tokio runtime.
    pub fn start(parts: CoreParts) -> Arc<Self> {
        Self::start_with_clock(parts, crate::cron::system_clock())
    }

    /// Like [`Core::start`], with the wall clock the cron jobs follow.
    pub fn start_with_clock(parts: CoreParts, clock: crate::cron::Clock) -> Arc<Self> {
        let CoreParts {
            paths,
            config,
            launcher,
            bus,
            directory,
            outbox,
            catalogue,
        } = parts;
        let (named_registry, interrupted) = NamedRegistry::load(&paths.named_sessions_file());
        let task_registry = crate::tasks::Registry::load(&paths.tasks_file());
        let bindings = Bindings {
            named: Arc::new(NamedBinding::new(named_registry.clone(), paths.clone())),
            task: Arc::new(TaskBinding::new(
                task_registry.clone(),
                paths.clone(),
                config.clone(),
            )),
            oneshot: Arc::default(),
        };
        // Every run of the agent, whatever starts it, takes one of its slots.
        let slots = crate::exec::slots::RunSlots::new(config.clone());
        // A user's turns may go to a warm live process; it holds a slot while it runs.
        let live = crate::exec::live::LiveHub::new(config.clone());
        live.start_upkeep(CancellationToken::new());
        let launcher: Arc<dyn Launcher> =
            Arc::new(crate::exec::live::LiveLauncher::new(launcher, live.clone()));
        let launcher: Arc<dyn Launcher> =
            Arc::new(crate::exec::slots::Limited::new(launcher, slots.clone()));
        let engine = Arc::new(Engine::new(
            paths.clone(),
            config.clone(),
            launcher,
            bus.clone(),
            bindings,
            clock.clone(),
        ));
        let conversations = Conversations::new(engine);
        let named = Named::new(
            named_registry,
            interrupted,
            conversations.clone(),
            outbox.clone(),
            config.clone(),
        );
        let tasks = TaskHub::start(HubParts {
            registry: task_registry,
            conversations: conversations.clone(),
            outbox: outbox.clone(),
            config: config.clone(),
            catalogue: catalogue.clone(),
            directory: directory.clone(),
        });
        let cron = crate::cron::Cron::start(crate::cron::CronParts {
            paths: paths.clone(),
            config: config.clone(),
            conversations: conversations.clone(),
            outbox: outbox.clone(),
            directory: directory.clone(),
            catalogue: catalogue.clone(),
            clock: clock.clone(),
        });
        Arc::new(Self {
            paths,
            config,
            conversations,
            named,
            tasks,
            cron,
            outbox,
            catalogue,
            directory,
            bus,
            restart: CancellationToken::new(),
            slots,
            clock,
            live,
        })
    }

    /// UI strings in the configured language.
    pub fn text(&self) -> &'static crate::i18n::Catalog {
        crate::i18n::catalog(&self.config.get().language)
    }

    /// Shutdown: every run is stopped and left recoverable, then the state files are
    /// flushed. `limit` bounds the wait for the runs.
    pub async fn shutdown(&self, limit: Duration) {
        self.conversations.shutdown(limit).await;
        self.live.shutdown().await;
        self.tasks.shutdown(Duration::from_secs(3)).await;
        self.cron.shutdown(Duration::from_secs(2)).await;
        self.named.registry().flush().await;
        self.outbox.flush().await;
    }
}

/// A core over a temporary home, with a scripted launcher and an in-memory outbox, for
/// the unit tests of everything built on it.
#[cfg(test)]
pub mod testing {
    use super::{Core, CoreParts};
    use crate::address::{Address, Directory};
    use crate::config::{AgentConfig, LiveConfig};
    use crate::exec::fake::{FakeLauncher, Script};
    use crate::paths::AgentPaths;
    use crate::session::outbox::{self, OutboxRx};
    use std::sync::Arc;

    /// The chat of the rig's only user (also its primary chat).
    pub const USER: i64 = 42;

    /// A directory serving the user's private chat on Telegram.
    #[derive(Debug)]
    pub struct OneUser;

    impl Directory for OneUser {
        fn primary(&self) -> Option<Address> {
            Some(Address::new("tg", USER, None))
        }
        fn serves(&self, a: &Address) -> bool {
            a.transport == "tg" && a.chat_id == USER
        }
        fn transports(&self) -> Vec<String> {
            vec!["tg".into()]
        }
    }

    /// A running core.
    pub struct Rig {
        /// Keeps the home alive.
        pub dir: tempfile::TempDir,
        /// The core.
        pub core: Arc<Core>,
        /// Its launcher.
        pub launcher: FakeLauncher,
        /// What the core delivered to the chats.
        pub outbox: OutboxRx,
    }

    impl Rig {
        /// The agent's paths.
        pub fn paths(&self) -> &AgentPaths {
            &self.core.paths
        }
    }

    /// Runs a user's main-lane turn with `prompt` at `address` and waits for its end.
    pub async fn user_turn(core: &Core, address: &Address, prompt: &str) -> crate::session::Ran {
        let job = crate::session::Job {
            lane: crate::session::Lane::Main,
            prompt: prompt.to_owned(),
            timeout: crate::exec::TimeoutKind::Interactive,
            cancel: None,
            purpose: crate::session::Purpose::Turn,
        };
        core.conversations.run(address, job, |_| {}).await
    }

    /// A core whose home was prepared by `prepare` (state files of an earlier run),
    /// answering every launch with a reply that echoes the prompt.
    pub fn rig(config: AgentConfig, prepare: impl FnOnce(&AgentPaths)) -> Rig {
        rig_with(config, prepare, Arc::new(OneUser))
    }

    /// Like [`rig`], with the chats of `directory`.
    pub fn rig_with(
        config: AgentConfig,
        prepare: impl FnOnce(&AgentPaths),
        directory: Arc<dyn Directory>,
    ) -> Rig {
        rig_at(config, prepare, directory, crate::cron::system_clock())
    }

    /// A wall clock that starts at `start` and follows tokio's (pausable) clock.
    pub fn tokio_clock(start: chrono::DateTime<chrono::Utc>) -> crate::cron::Clock {
        let base = tokio::time::Instant::now();
        Arc::new(move || start + chrono::Duration::from_std(base.elapsed()).unwrap_or_default())
    }

    /// Like [`rig_with`], with the wall clock `clock` for the cron jobs.
    pub fn rig_at(
        config: AgentConfig,
        prepare: impl FnOnce(&AgentPaths),
        directory: Arc<dyn Directory>,
        clock: crate::cron::Clock,
    ) -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = crate::paths::Home::new(dir.path()).main();
        crate::home::seed_agent_home(&paths).expect("seed the home");
        prepare(&paths);
        let launcher = FakeLauncher::new(|job| {
            Script::reply(
                &format!("s-{}", job.spec.prompt.len()),
                &format!("echo: {}", job.spec.prompt),
            )
        });
        let (tx, rx) = outbox::outbox();
        let live = LiveConfig::new(config);
        let core = Core::start_with_clock(
            CoreParts {
                paths,
                config: live,
                launcher: Arc::new(launcher.clone()),
                bus: None,
                directory,
                outbox: tx,
                catalogue: Arc::new(crate::provider::models::ModelCatalogue::new(
                    crate::provider::models::codex_fallback_models(),
                    Vec::new(),
                )),
            },
            clock,
        );
        Rig {
            dir,
            core,
            launcher,
            outbox: rx,
        }
    }
}
