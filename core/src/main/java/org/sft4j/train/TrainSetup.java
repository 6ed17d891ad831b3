package org.sft4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.UserError;
import org.sft4j.base.Version;
import org.sft4j.batch.Batcher;
import org.sft4j.config.SftConfig;
import org.sft4j.config.TrainArgs;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.TokenizedSet;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.model.ArchitectureCheck;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.Engines;
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.Precision;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.nd.RendezvousStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Everything a training run needs, built in order before the loop starts (torchtune's {@code setup}, litgpt's
 * {@code main}); the {@link Trainer} then only steps.
 * <pre>
 *   output_dir   claimed: another run's outputs refused (or removed with overwrite_output_dir), stale staging removed
 *   resume       the checkpoint to continue from, said first
 *   data         tokenized splits (the data step, reused when nothing changed)
 *   workers      nproc_per_node &gt; 1: one worker process per GPU runs the rest of this setup and the loop
 *   model        loaded at the run's precision (its Compute), LoRA added or resumed
 *   replicas     this process alone, data parallel with the other workers, or ZeRO-sharded (zero_stage, deepspeed)
 *   optimizer    AdamW on the model's Compute (over this rank's shards under ZeRO), moments restored when resuming;
 *                fp16's loss scaling
 *   data cursor  batches from the resumed position; steps, schedule, checkpoints, metrics.jsonl
 * </pre>
 */
public final class TrainSetup {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(TrainSetup.class);

    private TrainSetup() {}

    /** Sets the whole run up from its config and trains it; {@code started} receives what can be asked to stop. */
    public static TrainResult run(SftConfig cfg, HubClient hub, List<TrainListener> listeners,
                                  Consumer<? super Stoppable> started) throws IOException {
        cfg = everyGpuForSharding(cfg);
        TrainArgs args = cfg.train();
        if (args.outputDir() == null) {
            throw new UserError("training needs output_dir");
        }
        // before output_dir is claimed or any data is read: the architecture, and checkpointed layers beyond its depth
        ModelConfig architecture = ArchitectureCheck.run(cfg.model(), hub);
        if (architecture != null) {
            args.checkpointedLayers(architecture.numLayers());
        }
        Path outDir = Path.of(args.outputDir());
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        if (worker != null && worker.launched()) {
            // a worker whose launcher was killed (SIGKILL leaves it no time to stop them) would train on alone
            ProcessHandle.of(worker.launcherPid()).ifPresentOrElse(
                    launcher -> launcher.onExit().thenRun(() -> Watchdog.halt("rank " + worker.rank() + " stops: its "
                            + "launcher (pid " + worker.launcherPid() + ") ended")),
                    () -> Watchdog.halt("rank " + worker.rank() + " stops: its launcher (pid " + worker.launcherPid()
                            + ") has ended"));
        }
        ResumePoint resume = ResumePoint.resolve(args.resumeFromCheckpoint(), outDir);
        // the process the user started (on node 0: other nodes' launchers may share the folder) claims output_dir for
        // the whole run (sft4j's workers find it claimed); ranks started by torchrun or srun have rank 0 do it, and
        // prepare the data, while the others wait for it
        boolean leads = worker == null ? args.nodeRank() == 0 : worker.main() && !worker.launched();
        if (leads) {
            RunDirectory.claim(outDir, args.resumes(), args.overwriteOutputDir());
            resume.checkpoint().ifPresent(c -> listeners.forEach(l -> l.onResume(c, resume.step())));
        }
        Joined joined = worker == null ? null : join(worker, args, device(cfg, worker));
        try {
            DataPipeline.Prepared prepared = worker == null || worker.launched() || worker.main()
                    ? DataPipeline.prepare(cfg, hub, null) : null;
            if (worker != null && !worker.launched()) {
                joined.group().barrier();   // rank 0's data is written: the others reuse it
                if (prepared == null) {
                    prepared = DataPipeline.prepare(cfg, hub, null);
                }
            }
            Path modelDir = Sources.model(cfg.model().modelNameOrPath(), hub);
            if (Launcher.wanted(args)) {
                // data and model are ready (the workers reuse them); one worker JVM per GPU does the rest
                return Launcher.run(cfg, listeners, started);
            }
            TrainData data = new TrainData(TokenizedSet.read(prepared.train()),
                    prepared.report().val > 0 ? TokenizedSet.read(prepared.val()) : null, cfg.data().maxNumTokens(),
                    cfg.data().packing());
            requireIdsInVocabulary(data.train(), ModelConfig.read(modelDir).vocabSize(), cfg);
            int world = joined == null ? 1 : joined.group.world();
            boolean sharded = args.sharding(world, warning -> {}).stage() > 0;   // (its warnings come with the trainer)
            try (Decoder model = loadModel(cfg, modelDir, resume, device(cfg, worker), sharded);
                 Trainer trainer = trainer(args, model, data, ModelSource.of(modelDir, cfg.model().modelNameOrPath()),
                         resume, listeners, resume.lossScaling(model.compute().precision()), handOver(joined))) {
                if (worker == null || worker.main()) {
                    writeRunManifest(cfg, outDir, modelDir, prepared);
                }
                started.accept(trainer);
                return trainer.fit();
            }
        } catch (RuntimeException e) {
            Watchdog.awaitVerdict(joined == null ? null : joined.watchdog, e);   // (set up, not yet handed over)
            throw e;
        } finally {
            if (joined != null) {
                joined.close();   // nothing when the trainer took it over
            }
        }
    }

    /**
     * A config that asks for sharding ({@code deepspeed}, {@code zero_stage}) without saying how many processes runs on
     * every GPU of this node, as {@code llamafactory-cli train} does, so that a seed's YAML shards as it does there.
     */
    static SftConfig everyGpuForSharding(SftConfig cfg) {
        TrainArgs a = cfg.train();
        boolean sharding = (a.deepspeed() != null && !a.deepspeed().isBlank()) || (a.zeroStage() != null && a.zeroStage() > 0);
        String device = cfg.model().device();
        boolean anyGpu = device == null || device.equals("auto") || device.equals("gpu");   // not one named GPU
        if (!sharding || !anyGpu || cfg.values().containsKey("nproc_per_node") || WorkerEnv.fromEnvironment() != null
                || !Engines.device(device).isGpu()) {
            return cfg;
        }
        int gpus = Engines.pytorch().getGpuCount();
        if (gpus < 2) {
            return cfg;
        }
        LOG.info("{} shards the run: it runs on all {} GPUs of this node, as llamafactory-cli does (nproc_per_node "
                + "chooses)", a.deepspeed() != null ? "deepspeed: " + a.deepspeed() : "zero_stage: " + a.zeroStage(), gpus);
        return cfg.with("nproc_per_node", gpus);
    }

    /** This rank's process group and the watchdog over the other ranks, until a trainer takes them over. */
    private static final class Joined implements AutoCloseable {
        private Distributed group;
        private Watchdog watchdog;

        Joined(Distributed group, Watchdog watchdog) {
            this.group = group;
            this.watchdog = watchdog;
        }

        Distributed group() {
            return group;
        }

        @Override
        public void close() {
            if (watchdog != null) {
                watchdog.close();
            }
            if (group != null) {
                group.close();
            }
            group = null;
            watchdog = null;
        }
    }

    /** The group and watchdog of {@code joined}, now the trainer's; null without one. */
    private static Joined handOver(Joined joined) {
        if (joined == null) {
            return null;
        }
        Joined taken = new Joined(joined.group, joined.watchdog);
        joined.group = null;
        joined.watchdog = null;
        return taken;
    }

    /** Joins the run's process group (every rank waits here for all) and starts watching the other ranks. */
    private static Joined join(WorkerEnv worker, TrainArgs args, Device device) {
        Distributed group = Distributed.join(worker.masterAddr(), worker.masterPort(), worker.rank(), worker.world(), device,
                Duration.ofSeconds(args.ddpTimeout()));
        try {
            Watchdog w = new Watchdog(RendezvousStore.connect(worker.masterAddr(), worker.masterPort(),
                    Duration.ofSeconds(10)), worker.rank(), worker.world(), group::issued, Watchdog.deadAfter(),
                    Duration.ofSeconds(args.ddpTimeout()), Watchdog::halt);
            w.start();
            return new Joined(group, w);
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    /**
     * A trainer for {@code model} (already loaded at its precision, with its adapters): joins the worker processes
     * when this is one of several, makes the optimizer (restored from {@code resume}) and the loss scaling, and puts
     * the data where {@code resume} left it. The caller closes the trainer, then the model.
     */
    public static Trainer trainer(TrainArgs args, Decoder model, TrainData data, ModelSource source, ResumePoint resume,
                                  List<TrainListener> listeners) throws IOException {
        return trainer(args, model, data, source, resume, listeners, resume.lossScaling(model.compute().precision()));
    }

    /** As above with a given loss scaling (tests scale an fp32 loss to exercise fp16's overflow handling on CPU). */
    static Trainer trainer(TrainArgs args, Decoder model, TrainData data, ModelSource source, ResumePoint resume,
                           List<TrainListener> listeners, LossScaling scaling) throws IOException {
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        Joined joined = worker == null ? null : join(worker, args, model.device());
        return trainer(args, model, data, source, resume, listeners, scaling, joined);
    }

    /**
     * As above over {@code group}, the process group of the ranks (tests run ranks as threads over an in-process
     * one); the trainer closes it.
     */
    static Trainer trainer(TrainArgs args, Decoder model, TrainData data, ModelSource source, ResumePoint resume,
                           List<TrainListener> listeners, LossScaling scaling, ProcessGroup group) throws IOException {
        return trainer(args, model, data, source, resume, listeners, scaling, group, null);
    }

    /** The trained parameters whose optimizer state {@code ratio} offloads (see {@link ShardedModel#firstOffloadedPart}). */
    static List<Parameter> offloadedParameters(Decoder model, double ratio) {
        List<List<Parameter>> parts = ShardedModel.partsOf(model);
        return parts.subList(ShardedModel.firstOffloadedPart(parts, ratio), parts.size()).stream()
                .flatMap(List::stream).filter(Parameter::trainable).toList();
    }

    /** An offloaded optimizer's host memory, refused on every rank before any is taken when a node lacks it. */
    private static void checkHostMemory(TrainArgs args, List<Parameter> trained, ProcessGroup group, NDManager manager) {
        int world = group.world();
        OffloadMemory.checkAllRanks(group, manager, OffloadMemory::available,
                OffloadMemory.bytesPerRank(trained, args.bf16Update(), world),
                OffloadMemory.ranksOnThisNode(System.getenv(), world, args.nnodes()),
                trained.stream().mapToLong(p -> p.array().size()).sum(), "deepspeed: " + args.deepspeed());
    }

    private static Trainer trainer(TrainArgs args, Decoder model, TrainData data, ModelSource source, ResumePoint resume,
                                   List<TrainListener> listeners, LossScaling scaling, Joined joined) throws IOException {
        return joined == null ? trainer(args, model, data, source, resume, listeners, scaling, null, null)
                : trainer(args, model, data, source, resume, listeners, scaling, joined.group, joined.watchdog);
    }

    private static Trainer trainer(TrainArgs args, Decoder model, TrainData data, ModelSource source, ResumePoint resume,
                                   List<TrainListener> listeners, LossScaling scaling, ProcessGroup group,
                                   Watchdog watchdog) throws IOException {
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            resume.checkFinetuningType(model.loraConfig() != null ? "lora" : "full");
            Path outDir = Files.createDirectories(Path.of(args.outputDir()));
            List<Parameter> params = model.trainableParameters();
            AtomicBoolean stop = new AtomicBoolean();
            int world = group == null ? 1 : group.world();
            TrainArgs.Sharding sharding = args.sharding(world, LOG::warn);
            int stage = sharding.stage();
            Replicas replicas;
            ParameterUpdate update;
            CheckpointWriter checkpoints;
            Decoder computing = model;   // what the passes run: the model, or its bf16 working copy under ZeRO
            if (stage > 0) {
                // one process alone shards over a group of one, as DeepSpeed does on one GPU: the same precision
                // rules (and numbers) as on several, the collectives copies
                ProcessGroup shards = group != null ? group : ProcessGroup.alone();
                Zero zero;
                // bf16-mixed sharded as DeepSpeed's bf16 and FSDP2's MixedPrecisionPolicy(param_dtype=bf16) shard it:
                // fp32 master shards, AdamW and gradient sums, a bf16 working copy computing as bf16-true does
                boolean bf16Working = ShardedModel.bf16Working(model);
                try {
                    if (sharding.offloadOptimizer() && model.manager().getDevice().isGpu()) {
                        checkHostMemory(args, offloadedParameters(model, sharding.offloadRatio()), shards,
                                model.manager());
                    }
                    zero = Zero.shard(stage, shards, model, args.decayNormsAndBiases(), sharding.offloadRatio(),
                            stop::get);
                } catch (RuntimeException e) {
                    shards.close();
                    throw e;
                }
                owned.add(zero);
                zero.watch(watchdog);
                if (sharding.offloadOptimizer() && !model.manager().getDevice().isGpu()) {
                    LOG.warn("offload_optimizer: this run is on the CPU, where the optimizer state already is; "
                            + "offloading only adds a copy of each shard (about 2 to 4 bytes a parameter)");
                } else if (sharding.offloadOptimizer()) {
                    LOG.info("ZeRO stage {} with the optimizer offloaded: master weights, their gradients and the AdamW "
                            + "moments in host memory, updated there on {} CPU threads; each rank's working-type shard on "
                            + "{}", stage, FlatBuffers.hostThreads(), model.manager().getDevice());
                    if (sharding.offloadRatio() < 1) {
                        int first = zero.sharded().firstOffloadedPart();
                        LOG.info("offload_optimizer.ratio {}: the state of {} of {} parts offloaded (from {}), the "
                                + "first {} updated on {}", sharding.offloadRatio(), zero.sharded().parts() - first,
                                zero.sharded().parts(), first == 0 ? "the embedding" : "layer " + (first - 1), first,
                                model.manager().getDevice());
                    }
                }
                if (bf16Working) {
                    computing = model.computingWith(Compute.forPrecision(Precision.BF16_TRUE));
                    LOG.info("ZeRO stage {} in bf16-mixed: fp32 master weights, moments and gradient sums sharded; the "
                            + "layers compute in bf16 from a bf16 working copy (DeepSpeed's and FSDP2's bf16)", stage);
                }
                ShardedAdamW sharded = new ShardedAdamW(zero, args, model.compute(), model.manager());
                owned.add(sharded);
                replicas = zero;
                update = sharded;
                checkpoints = new ShardedCheckpointer(outDir, model, zero, sharded, args.keepLastNCheckpoints(), source,
                        args.saveDtype());
            } else {
                if (world > 1 && !(group instanceof Distributed)) {
                    group.close();
                    throw new IllegalArgumentException("data parallelism without sharding needs torch.distributed's group");
                }
                replicas = world > 1 ? DataParallel.over((Distributed) group, model, params, stop::get)
                        : Replicas.single(stop::get);
                owned.add(replicas);
                if (replicas instanceof DataParallel dp) {
                    dp.watch(watchdog);
                }
                AdamW optimizer = new AdamW(params, args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(),
                        args.weightDecay(), args.decayNormsAndBiases(), model.compute(), model.manager(), args.bf16Update(),
                        args.seed());
                update = new ReplicatedUpdate(optimizer, model.compute(), params, replicas.world() == 1);
                owned.add(update);
                Checkpointer checkpointer = new Checkpointer(outDir, model, optimizer, args.keepLastNCheckpoints(), source,
                        args.saveDtype());
                boolean main = replicas.main();
                checkpoints = state -> main ? checkpointer.save(state) : null;
            }
            if (watchdog != null) {
                owned.add(watchdog);   // closed before the group it watches (owned closes last opened first)
            }
            resume.restore(update);
            DataCursor cursor = new DataCursor(batcher(args, data, replicas.world()), resume.state().epoch(),
                    resume.state().batchInEpoch());
            int stepsPerEpoch = Math.max(1, (int) Math.ceil((double) cursor.batchesPerEpoch() / args.gradientAccumulationSteps()));
            int totalSteps = args.maxSteps() > 0 ? args.maxSteps() : (int) Math.ceil(args.numTrainEpochs() * stepsPerEpoch);
            LrSchedule schedule = new LrSchedule(args.lrSchedulerType(), args.learningRate(),
                    LrSchedule.warmupSteps(args.warmupSteps(), args.warmupRatio(), totalSteps), totalSteps);
            List<TrainListener> all = new ArrayList<>();
            if (replicas.main()) {   // rank 0 logs, validates into the listeners and saves
                MetricsLog metrics = new MetricsLog(outDir.resolve("metrics.jsonl"), resume.step());
                owned.add(metrics);
                all.add(metrics);
                all.addAll(listeners);
            }
            return new Trainer(args, computing, update, scaling, replicas, cursor, data.val(), schedule, totalSteps,
                    checkpoints, resume, stop, all, owned);
        } catch (IOException | RuntimeException e) {
            if (e instanceof RuntimeException re) {
                Watchdog.awaitVerdict(watchdog, re);   // a rank that failed while the model was sharded is named
            }
            if (watchdog != null && !owned.contains(watchdog)) {
                watchdog.close();
            }
            if (owned.isEmpty() && group != null) {
                group.close();
            }
            Closing.all(owned);
            throw e;
        }
    }

    /**
     * One global batch is world x the per-device batch (a token budget per batch grows the same way; a packed row's
     * length does not); each replica takes its share of the rows.
     */
    private static Batcher batcher(TrainArgs args, TrainData data, int world) {
        Integer budget = data.maxNumTokens() == null || data.packing() ? data.maxNumTokens()
                : Integer.valueOf(data.maxNumTokens() * world);
        return new Batcher(data.train(), args.perDeviceTrainBatchSize() * world, budget, data.packing(), args.seed(), true);
    }

    /**
     * The model at the run's precision: the base (or a resumed full checkpoint), with LoRA added or resumed; {@code
     * toShard}: its base weights left in the files for the sharding to read each rank's slice of them.
     */
    static Decoder loadModel(SftConfig cfg, Path modelDir, ResumePoint resume, Device device, boolean toShard)
            throws IOException {
        Compute compute = Compute.forPrecision(cfg.train().precision());
        boolean lora = cfg.model().lora();
        Path weights = lora ? modelDir : resume.checkpoint().orElse(modelDir);
        // under LoRA the base is frozen: its projections are read straight into the products' type, never in fp32
        Decoder model = toShard ? Decoder.loadToShard(weights, device, compute, lora)
                : Decoder.load(weights, device, compute, lora);
        if (!lora) {
            return model;
        }
        try {
            Optional<Path> adapter = resume.checkpoint()
                    .or(() -> Optional.ofNullable(cfg.model().adapterNameOrPath()).map(Path::of));
            if (adapter.isPresent()) {
                ModelFiles.loadAdapter(model, adapter.get());
            } else {
                model.addLora(new LoraConfig(cfg.model().loraRank(), cfg.model().loraAlpha(), cfg.model().loraDropout(),
                        cfg.model().loraTargets()), cfg.train().seed());
            }
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The configured device; a worker of a multi-GPU run takes the GPU of its local rank. */
    /** A tokenizer whose ids pass the model's vocabulary would fail deep in the embedding ("index out of range in self"). */
    private static void requireIdsInVocabulary(TokenizedSet train, int vocab, SftConfig cfg) {
        for (var e : train.examples()) {
            for (int id : e.inputIds()) {
                if (id < 0 || id >= vocab) {
                    throw new UserError("the tokenizer of " + cfg.model().tokenizerSource() + " gives token id " + id
                            + " (example " + e.id() + "), but the model " + cfg.model().modelNameOrPath() + " has " + vocab
                            + " tokens (vocab_size): tokenizer and model do not belong together");
                }
            }
        }
    }

    private static Device device(SftConfig cfg, WorkerEnv worker) {
        Device device = Engines.device(cfg.model().device());
        return worker != null && device.isGpu() ? Device.gpu(worker.localRank()) : device;
    }

    private static void writeRunManifest(SftConfig cfg, Path outDir, Path modelDir, DataPipeline.Prepared data)
            throws IOException {
        ObjectNode run = JSON.createObjectNode();
        run.put("format_version", 1);
        run.put("sft4j", Version.VERSION);
        run.put("started", Instant.now().toString());
        run.put("model_dir", modelDir.toAbsolutePath().toString());
        run.put("data_dir", data.dir().toAbsolutePath().toString());
        run.put("train_examples", data.report().train);
        run.put("val_examples", data.report().val);
        run.set("config", JSON.valueToTree(cfg.values()));
        JsonFiles.writeAtomically(outDir.resolve("run.json"), run);
    }
}
