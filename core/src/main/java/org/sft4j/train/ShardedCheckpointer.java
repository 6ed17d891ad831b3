package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.base.JsonFiles;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.Parameter;
import org.sft4j.model.io.AtomicDirectory;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorSource;
import org.sft4j.model.lora.PeftAdapter;
import org.sft4j.nd.FlatBuffers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code checkpoint-<step>} of a sharded run, written by every rank together into one staging folder that rank 0
 * renames into place once all are done (so a killed run leaves the previous checkpoint as the latest):
 * <ul>
 *   <li>the weights, consolidated in Hugging Face layout (or the PEFT adapter under LoRA), as one process writes them:
 *       rank 0 streams each tensor to its shard while the ranks gather the part it belongs to, one part at a time,
 *       so transformers, {@code sft4j eval} and generation read the checkpoint as any other;</li>
 *   <li>each rank's AdamW moments, {@code optimizer-<rank>-of-<world>.safetensors} ({@link OptimizerFiles});</li>
 *   <li>{@code trainer_state.json}, written last.</li>
 * </ul>
 * Multi-node runs need an {@code output_dir} every node sees (a shared file system).
 */
final class ShardedCheckpointer implements CheckpointWriter {

    private final Path outputDir;
    private final Decoder model;
    private final Zero zero;
    private final ShardedAdamW optimizer;
    private final Integer keepLast;
    private final ModelSource source;
    private final StDType saveType;

    /** @param saveDtype save_dtype: {@code auto} (the master weights' type), float32, bfloat16 or float16 */
    ShardedCheckpointer(Path outputDir, Decoder model, Zero zero, ShardedAdamW optimizer, Integer keepLast,
                        ModelSource source, String saveDtype) {
        // auto: the type a trained weight is kept in, which is the master shards' (bf16 after bf16-true, else fp32),
        // so a resume is exact; the gathered working copies may be bf16 under bf16-mixed, the masters are not
        this.saveType = !"auto".equals(saveDtype) ? ModelFiles.saveDtype(saveDtype, model)
                : StDType.of(model.compute().weightType(false));
        this.outputDir = outputDir;
        this.model = model;
        this.zero = zero;
        this.optimizer = optimizer;
        this.keepLast = keepLast;
        this.source = source;
    }

    @Override
    public Path save(TrainState state) throws IOException {
        Path target = outputDir.resolve("checkpoint-" + state.step());
        boolean main = zero.main();
        try (AtomicDirectory dir = main ? AtomicDirectory.begin(target) : null;
             NDManager scratch = model.manager().newSubManager()) {
            Path staging = Path.of(HostValues.fromRankZero(zero.group(), scratch, main ? dir.path().toString() : ""));
            writeWeights(staging, main);
            optimizer.save(staging.resolve(OptimizerFiles.rankFile(zero.rank(), zero.world())));
            zero.group().barrier();   // every rank's file is complete
            if (!main) {
                return null;
            }
            JsonFiles.writeAtomically(staging.resolve(Checkpointer.STATE), state);
            dir.commit();
        }
        Checkpointer.prune(outputDir, keepLast);
        return target;
    }

    /** The weights (or the adapter) in one process's layout: rank 0 writes, every rank gathers part by part. */
    private void writeWeights(Path dir, boolean main) throws IOException {
        boolean lora = model.loraConfig() != null;
        List<Parameter> params = lora ? model.loraParameters() : model.baseParameters();
        try (Gathered gathered = new Gathered(zero.sharded(), lora)) {
            List<NamedTensor> tensors = new ArrayList<>();
            for (Parameter p : params) {
                StDType type = lora ? StDType.F32 : saveType;   // adapters stay fp32, as one process writes them
                tensors.add(new NamedTensor(p.name(), type, p.array().getShape().getShape(), out -> {
                    NDArray values = gathered.of(p);
                    TensorSource.of(p.name(), values, type).bytes().writeTo(out);
                }));
            }
            if (!lora) {
                tensors.sort(java.util.Comparator.comparing(NamedTensor::name, SafetensorsWriter.STATE_DICT_ORDER));
            }
            if (main) {
                Path sourceDir = source.dir().orElse(null);
                // checkpoints keep the master weights' values (save_dtype auto) so that resuming is exact
                if (lora) {
                    SafetensorsWriter.writeFile(dir.resolve("adapter_model.safetensors"), tensors, Map.of());
                    PeftAdapter.writeConfig(dir, model.loraConfig(), source.name());
                    ModelFiles.copyTokenizerFiles(sourceDir, dir);
                } else {
                    ModelFiles.writeModel(model.config(), tensors, dir, saveType, sourceDir,
                            ModelFiles.DEFAULT_SHARD_BYTES);
                }
            } else {
                // the other ranks take part in the same gathers, in the order rank 0's writer reads the tensors
                Map<String, Parameter> byName = new HashMap<>();
                params.forEach(p -> byName.put(p.name(), p));
                for (NamedTensor t : tensors) {
                    gathered.of(byName.get(t.name()));
                }
            }
        }
    }

    /** The master values of one part at a time, gathered from every rank (the part of the last parameter asked for). */
    private static final class Gathered implements AutoCloseable {
        private final ShardedModel sharded;
        private final boolean trainableOnly;
        private final Map<Parameter, NDArray> views = new HashMap<>();
        private final List<NDArray> buffers = new ArrayList<>();
        private int part = -1;

        Gathered(ShardedModel sharded, boolean trainableOnly) {
            this.sharded = sharded;
            this.trainableOnly = trainableOnly;
        }

        NDArray of(Parameter p) {
            int wanted = sharded.partOf(p);
            if (wanted != part) {
                free();
                List<ShardGroup> groups = sharded.groups(wanted).stream()
                        .filter(g -> !trainableOnly || g.trainable()).toList();
                buffers.addAll(sharded.gatherMasters(groups));
                for (int k = 0; k < groups.size(); k++) {
                    ShardGroup g = groups.get(k);
                    for (int j = 0; j < g.params().size(); j++) {
                        Parameter q = g.params().get(j);
                        views.put(q, FlatBuffers.view(buffers.get(k), g.offset(j), q.array().getShape()));
                    }
                }
                part = wanted;
            }
            return views.get(p);
        }

        private void free() {
            views.values().forEach(NDArray::close);
            views.clear();
            buffers.forEach(NDArray::close);
            buffers.clear();
        }

        @Override
        public void close() {
            free();
        }
    }
}
