#!/usr/bin/env bash
# Packs what a run on the GPU machine carries (it has no Java and no network; a call carries 64 MiB at most, the
# checkout included) into .carry/ (ignored by git):
#   .carry/jre.tar.xz   a jlink'd Java runtime (unpack there: tar -C .carry -xJf .carry/jre.tar.xz)
#   .carry/lib/         the jars the benchmarks use: not DJL's bundled CPU libtorch (the machine's PyTorch is used),
#                       tokenizers' natives for linux-x86_64 only, no Parquet/Hadoop unless --train (`sft4j train`
#                       and LaunchCheck write tokenized data as Parquet; those ~50 MB more go in a call of their own,
#                       carried paths stay on a warm machine)
# Without --train: 15 MB of runtime and 26 MB of jars beside the 22 MB checkout (2026-12-01); TrainStepBench and
# GpuParity ran from them on this machine's CPU.
# DJL's JNI for the machine's PyTorch is built there from DJL's source, which stays out of this repository
# (bench/gpu/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
train=false
[ "${1:-}" = "--train" ] && train=true
mvn -B -q -o package -DskipTests
rm -rf .carry/jre .carry/jre.tar.xz .carry/lib
mkdir -p .carry/lib
modules=java.base,java.logging,jdk.unsupported
$train && modules=$modules,java.management,java.xml,java.sql   # Hadoop's
jlink --add-modules "$modules" \
      --strip-debug --no-man-pages --compress=2 --output .carry/jre
tar -C .carry -cJf .carry/jre.tar.xz jre
rm -rf .carry/jre
cp core/target/sft4j-core-*.jar bench/target/sft4j-bench-*.jar .carry/lib/
for jar in bench/target/lib/*.jar; do
    case "$(basename "$jar")" in
        pytorch-native-cpu-*|pdfbox-*|fontbox-*|fastutil-*|icu4j-*) continue ;;   # the last two: only tablesaw's reports use them
        hadoop-*|parquet-*|snappy-java-*|zstd-jni-*|aircompressor-*|commons-pool-*) $train || continue ;;
    esac
    cp "$jar" .carry/lib/
done
# tokenizers: only the linux-x86_64 native (the jar holds four platforms')
tok=$(ls .carry/lib/tokenizers-*.jar)
zip -q -d "$tok" 'native/lib/linux-aarch64/*' 'native/lib/win-x86_64/*' 'native/lib/osx-aarch64/*' >/dev/null
du -sh .carry/jre.tar.xz .carry/lib
