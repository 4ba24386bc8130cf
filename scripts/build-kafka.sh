#!/usr/bin/env bash
# Copies the Apache Kafka broker's runtime jars (kafka-runtime/pom.xml: kafka_2.13 + log4j2, from
# Maven Central) into a cache outside the work tree, keyed by the Kafka version and the hash of the
# POM. Re-running it with the jars cached only checks that they are there. Needs `mvn` and `java`.
#
#   KONSUMERATOR_CACHE   cache root (default ~/.cache/konsumerator)
#
# Prints the lib directory (for `java -cp '<lib>/*'`) on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pom="$here/kafka-runtime/pom.xml"
cache_root=${KONSUMERATOR_CACHE:-$HOME/.cache/konsumerator}
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
pom_hash=$(sha256sum "$pom" | cut -c1-12)
out="$cache_root/kafka-$kafka_version-$pom_hash"
mkdir -p "$out"
# Several test runs (or worktrees) may ask at once: one copies, the others wait for it.
exec 9>"$out/.lock"
flock 9

if [ ! -f "$out/lib/.complete" ]; then
  for tool in mvn java; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y --no-install-recommends maven openjdk-17-jre-headless" >&2; exit 1; }
  done
  echo "copying Kafka $kafka_version runtime jars from Maven Central into $out (cold: ~20 s, 64 MB download)" >&2
  start=$(date +%s)
  rm -rf "$out/lib.tmp"
  mkdir -p "$out"
  # The plugin is named with full coordinates and version: a bare `dependency:` prefix would make
  # Maven resolve the newest plugin metadata.
  mvn -B -q -Dstyle.color=never -f "$pom" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$out/lib.tmp" > "$out/mvn.log" 2>&1 \
    || { cat "$out/mvn.log" >&2; exit 1; }
  touch "$out/lib.tmp/.complete"
  rm -rf "$out/lib"
  mv "$out/lib.tmp" "$out/lib"
  echo "Kafka runtime ready in $(( $(date +%s) - start ))s ($(ls "$out/lib" | wc -l) jars, $(du -sh "$out/lib" | cut -f1))" >&2
fi
echo "$out/lib"
