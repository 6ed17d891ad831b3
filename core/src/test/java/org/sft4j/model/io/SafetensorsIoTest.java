package org.sft4j.model.io;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.Engines;
import org.sft4j.nd.NativeOps;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Tensors read and written in their stored types, conversions as torch makes them, bad files named. */
class SafetensorsIoTest {

    private static final Path LLAMA_BF16 = Shared.fixtures("models/llama-bf16/model.safetensors");
    private static final String EMBED = "model.embed_tokens.weight";

    /** fp32 values with rounding ties, fp16 overflow and subnormals, bf16 subnormals, infinities. */
    private static final int[] FP32_BITS = {1036831949, -1071644672, 1051372203, 1199562752, 1199566592, 1199566848,
            841731191, 864082265, 855636709, -2147483648, 2137108966, 2139029349, 8349399, 71362, 2139095040, -8388608,
            1065385984, 1065451520, 985661440};
    /** torch 2.13: {@code t.to(torch.bfloat16)} and {@code t.to(torch.float16)} of those values, as bits. */
    private static final int[] TORCH_BF16 = {15821, 49184, 16043, 18304, 18304, 18304, 12844, 13185, 13056, 32768, 32610,
            32639, 127, 1, 32640, 65408, 16256, 16258, 15040};
    private static final int[] TORCH_F16 = {11878, 49408, 13653, 31743, 31743, 31744, 0, 1, 0, 32768, 31744, 31744, 0, 0,
            31744, 64512, 15364, 15372, 5632};
    /** torch 2.13: the bf16 values above converted to float16. */
    private static final int[] TORCH_BF16_TO_F16 = {11880, 49408, 13656, 31744, 31744, 31744, 0, 1, 0, 32768, 31744,
            31744, 0, 0, 31744, 64512, 15360, 15376, 5632};

    private static ByteBuffer ints(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.flip();
    }

    private static ByteBuffer shorts(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putShort((short) x);
        }
        return b.flip();
    }

    private static int[] convert(ByteBuffer src, StDType from, StDType to) {
        int n = src.remaining() / from.bytes();
        ByteBuffer out = ByteBuffer.allocate(n * to.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        Elements.convert(src, from, out, to);
        assertFalse(src.hasRemaining(), "every element consumed");
        out.flip();
        int[] bits = new int[n];
        for (int i = 0; i < n; i++) {
            bits[i] = to.bytes() == 4 ? out.getInt() : out.getShort() & 0xffff;
        }
        return bits;
    }

    @Test
    void conversionsRoundAsTorchDoes() {
        assertArrayEquals(TORCH_BF16, convert(ints(FP32_BITS), StDType.F32, StDType.BF16));
        assertArrayEquals(TORCH_F16, convert(ints(FP32_BITS), StDType.F32, StDType.F16));
        assertArrayEquals(TORCH_BF16_TO_F16, convert(shorts(TORCH_BF16), StDType.BF16, StDType.F16));
        int[] widened = convert(shorts(TORCH_BF16), StDType.BF16, StDType.F32);
        for (int i = 0; i < widened.length; i++) {
            assertEquals(TORCH_BF16[i] << 16, widened[i], "bf16 widens exactly");
        }
    }

    @Test
    void fp16ArraysAreFilledFromBf16AndWrittenBackInEitherType(@TempDir Path tmp) throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(LLAMA_BF16);
             NDManager m = Engines.newManager(Device.cpu());
             NDArray half = TensorReader.read(file, EMBED, m, DataType.FLOAT16)) {
            assertEquals(DataType.FLOAT16, half.getDataType());
            ByteBuffer raw = file.readRaw(EMBED);
            ByteBuffer expected = ByteBuffer.allocate(raw.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            while (raw.hasRemaining()) {
                expected.putShort(HalfFloats.floatToF16(HalfFloats.bf16ToFloat(raw.getShort())));
            }
            assertEquals(expected.flip(), half.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN), "bf16 -> fp16 per element");

            Path out = tmp.resolve("out.safetensors");
            SafetensorsWriter.writeFile(out, List.of(TensorSource.of("f16", half, StDType.F16),
                    TensorSource.of("f32", half, StDType.F32)), Map.of());
            try (SafetensorsFile back = SafetensorsFile.open(out)) {
                assertEquals(expected.rewind(), back.readRaw("f16"));
                assertEquals(StDType.F32, back.info("f32").dtype());
                ByteBuffer f32 = back.readRaw("f32");
                expected.rewind();
                while (expected.hasRemaining()) {
                    assertEquals(HalfFloats.f16ToFloat(expected.getShort()), f32.getFloat());
                }
            }
        }
    }

    /** The bytes a tensor source hands the writer. */
    private static ByteBuffer bytesOf(NamedTensor t) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        t.bytes().writeTo(java.nio.channels.Channels.newChannel(out));
        return ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void everyStoredTypeReachesEveryWeightTypeInPlaceOrUploaded(@TempDir Path tmp) throws IOException {
        // the embedding of the bf16 fixture stored in each float type (torch's rounding, as pinned above)
        Path f = tmp.resolve("types.safetensors");
        List<NamedTensor> stored = new ArrayList<>();
        ByteBuffer bf16;
        long[] shape;
        try (SafetensorsFile file = SafetensorsFile.open(LLAMA_BF16)) {
            bf16 = file.readRaw(EMBED);
            shape = file.info(EMBED).shape();
        }
        for (StDType type : List.of(StDType.BF16, StDType.F16, StDType.F32, StDType.F64)) {
            ByteBuffer b = ByteBuffer.allocate(bf16.remaining() / 2 * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            Elements.convert(bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN), StDType.BF16, b, type);
            stored.add(new NamedTensor(type.name(), type, shape, () -> b.flip()));
        }
        SafetensorsWriter.writeFile(f, stored, Map.of());
        List<DataType> targets = new ArrayList<>(List.of(DataType.FLOAT32, DataType.FLOAT16));
        if (NativeOps.available()) {
            targets.add(DataType.BFLOAT16);
        }
        try (SafetensorsFile file = SafetensorsFile.open(f); NDManager m = Engines.newManager(Device.cpu())) {
            for (StDType from : List.of(StDType.BF16, StDType.F16, StDType.F32, StDType.F64)) {
                ByteBuffer raw = file.readRaw(from.name());
                for (DataType to : targets) {
                    StDType st = TensorReader.stType(to);
                    ByteBuffer expected = ByteBuffer.allocate(raw.remaining() / from.bytes() * st.bytes());
                    Elements.convert(raw.duplicate(), from, expected, st);
                    for (boolean upload : new boolean[] {false, true}) {
                        try (NDArray a = DataTypes.empty(m, new ai.djl.ndarray.types.Shape(shape), to)) {
                            TensorReader.readInto(file, from.name(), a, upload);
                            assertEquals(to, DataTypes.of(a));
                            assertEquals(expected.rewind(), bytesOf(TensorSource.of("x", a, st)),
                                    from + " -> " + to + (upload ? " uploaded" : " in place"));
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16StaysBf16WithTheExtension(@TempDir Path tmp) throws IOException {
        assumeTrue(NativeOps.available(), "bf16 arrays need the native extension");
        try (SafetensorsFile file = SafetensorsFile.open(LLAMA_BF16);
             NDManager m = Engines.newManager(Device.cpu());
             NDArray bf16 = TensorReader.read(file, EMBED, m, DataType.BFLOAT16)) {
            assertEquals(DataType.BFLOAT16, DataTypes.of(bf16));
            Path out = tmp.resolve("out.safetensors");
            SafetensorsWriter.writeFile(out, List.of(TensorSource.of(EMBED, bf16, StDType.BF16)), Map.of());
            try (SafetensorsFile back = SafetensorsFile.open(out)) {
                assertEquals(file.readRaw(EMBED), back.readRaw(EMBED), "the same bits come back");
            }
            try (NDArray f32 = DataTypes.cast(bf16, DataType.FLOAT32)) {
                assertEquals(file.readAsFloat32(EMBED), f32.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN),
                        "widened on the device exactly as on the host");
            }
        }
    }

    @Test
    void bf16WithoutTheExtensionSaysWhatToDo() throws IOException {
        assumeFalse(NativeOps.available(), "the extension is loaded here");
        try (SafetensorsFile file = SafetensorsFile.open(LLAMA_BF16);
             NDManager m = Engines.newManager(Device.cpu())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> TensorReader.read(file, EMBED, m, DataType.BFLOAT16));
            assertTrue(e.getMessage().contains("native/build.sh") && e.getMessage().contains("float32"), e.getMessage());
        }
    }

    @Test
    void readIntoOverwritesInPlaceAndChecksTheShape() throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(LLAMA_BF16);
             NDManager m = Engines.newManager(Device.cpu());
             NDArray target = m.zeros(new ai.djl.ndarray.types.Shape(file.info(EMBED).shape()))) {
            TensorReader.readInto(file, EMBED, target);
            assertEquals(file.readAsFloat32(EMBED), target.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
            try (NDArray wrong = m.zeros(new ai.djl.ndarray.types.Shape(3, 4))) {
                IOException e = assertThrows(IOException.class, () -> TensorReader.readInto(file, EMBED, wrong));
                assertTrue(e.getMessage().contains(EMBED) && e.getMessage().contains("[3, 4]"), e.getMessage());
            }
        }
    }

    /** A copy of the bf16 fixture whose JSON header is replaced by {@code edit(header)}, padded to the same length. */
    private static Path withHeader(Path tmp, java.util.function.UnaryOperator<String> edit) throws IOException {
        byte[] all = Files.readAllBytes(LLAMA_BF16);
        long len = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(all, 8, (int) len, StandardCharsets.UTF_8);
        byte[] edited = edit.apply(header).getBytes(StandardCharsets.UTF_8);
        assertTrue(edited.length <= len, "the edit keeps the header's length");
        byte[] out = all.clone();
        System.arraycopy(edited, 0, out, 8, edited.length);
        for (int i = 8 + edited.length; i < 8 + len; i++) {
            out[i] = ' ';
        }
        Path f = tmp.resolve("edited.safetensors");
        Files.write(f, out);
        return f;
    }

    private static String openError(Path f) {
        IOException e = assertThrows(IOException.class, () -> SafetensorsFile.open(f).close());
        assertFalse(e.getMessage().contains("com.fasterxml") || e.getMessage().contains("Source:"),
                "no library internals: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void corruptHeadersNameTheFileTensorAndField(@TempDir Path tmp) throws IOException {
        String json = openError(withHeader(tmp, h -> h.replaceFirst("\\{", "[")));
        assertTrue(json.contains("does not parse") && json.contains("line 1"), json);

        String dtype = openError(withHeader(tmp, h -> h.replace("\"dtype\":\"BF16\"", "\"dtype\":\"Q4\"")));
        assertTrue(dtype.contains("unsupported safetensors dtype 'Q4'") && dtype.contains("tensor '"), dtype);

        String shape = openError(withHeader(tmp, h -> h.replaceFirst("\"shape\":\\[512,64]", "\"shape\":[512,65]")));
        assertTrue(shape.contains("tensor 'lm_head.weight'") && shape.contains("[512, 65]") && shape.contains("BF16")
                && shape.contains("65536 bytes"), shape);

        byte[] all = Files.readAllBytes(LLAMA_BF16);
        Path truncated = tmp.resolve("truncated.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length - 10));
        String cut = openError(truncated);
        assertTrue(cut.contains("truncated") && cut.contains("tensor '"), cut);
    }

    @Test
    void aFileCutAfterOpeningNamesTheTensorBeingRead(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("m.safetensors");
        Files.copy(LLAMA_BF16, f);
        try (SafetensorsFile file = SafetensorsFile.open(f);
             NDManager m = Engines.newManager(Device.cpu())) {
            TensorInfo last = new ArrayList<>(file.tensors().values()).stream()
                    .max(java.util.Comparator.comparingLong(TensorInfo::end)).orElseThrow();
            try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(Files.size(f) - last.byteLength() / 2);   // another process cut the file short
            }
            IOException e = assertThrows(IOException.class, () -> TensorReader.read(file, last.name(), m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("tensor '" + last.name() + "'")
                    && e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void shardedCheckpointErrorsNameTheIndexAndShard(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.copy(LLAMA_BF16, dir.resolve("model-00001-of-00002.safetensors"), StandardCopyOption.REPLACE_EXISTING);
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"metadata\": {}, \"weight_map\": {\"" + EMBED + "\": \"model-00001-of-00002.safetensors\","
                + " \"lm_head.weight\": \"model-00002-of-00002.safetensors\"}}");
        IOException missing = assertThrows(IOException.class, () -> CheckpointFiles.open(dir, "model"));
        assertTrue(missing.getMessage().contains(index.toString())
                && missing.getMessage().contains("model-00002-of-00002.safetensors, which does not exist"), missing.getMessage());

        Files.copy(LLAMA_BF16, dir.resolve("model-00002-of-00002.safetensors"));
        IOException twice = assertThrows(IOException.class, () -> CheckpointFiles.open(dir, "model"));
        assertTrue(twice.getMessage().contains("is in both model-00001-of-00002.safetensors and model-00002-of-00002"),
                twice.getMessage());

        Files.writeString(index, "{\"weight_map\": {\"a\": \"x\",}}");
        IOException json = assertThrows(IOException.class, () -> CheckpointFiles.open(dir, "model"));
        // FILE:LINE:COLUMN, the one form every JSON file's error takes (base.JsonFiles)
        assertTrue(json.getMessage().startsWith(index + ":1:26: not valid JSON: ")
                && !json.getMessage().contains("Source:"), json.getMessage());
    }

    @Test
    void shardsSplitAsHuggingfaceHubSplitsThem() {
        // huggingface_hub.split_torch_state_dict_into_shards: a tensor over the limit goes alone where it occurs,
        // while the shard being filled stays open for the tensors after it
        List<NamedTensor> ts = new ArrayList<>();
        long[] sizes = {30, 50, 200, 30, 40, 10};
        for (int i = 0; i < sizes.length; i++) {
            ts.add(new NamedTensor("t" + i, StDType.U8, new long[] {sizes[i]}, () -> ByteBuffer.allocate(0)));
        }
        List<List<String>> names = SafetensorsWriter.split(ts, 100).stream()
                .map(s -> s.stream().map(NamedTensor::name).toList()).toList();
        assertEquals(List.of(List.of("t2"), List.of("t0", "t1"), List.of("t3", "t4", "t5")), names);
        assertEquals(List.of(List.of()), SafetensorsWriter.split(List.of(), 100).stream()
                .map(s -> s.stream().map(NamedTensor::name).toList()).toList(), "no tensors: one empty file");
    }

    @Test
    void stateDictOrderIsTransformersNaturalOrder() {
        List<String> names = new ArrayList<>(List.of("model.norm.weight", "model.layers.10.mlp.up_proj.weight",
                "model.layers.2.self_attn.q_proj.weight", "lm_head.weight", "model.layers.2.input_layernorm.weight",
                "model.embed_tokens.weight", "model.layers.2.mlp.down_proj.weight", "block11.x", "block2.x", "block.x"));
        names.sort(SafetensorsWriter.STATE_DICT_ORDER);
        assertEquals(List.of("block.x", "block2.x", "block11.x", "lm_head.weight", "model.embed_tokens.weight",
                "model.layers.2.input_layernorm.weight", "model.layers.2.mlp.down_proj.weight",
                "model.layers.2.self_attn.q_proj.weight", "model.layers.10.mlp.up_proj.weight", "model.norm.weight"), names);
    }
}
