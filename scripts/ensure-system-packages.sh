#!/usr/bin/env bash
# Installs the Debian packages the test plane and the demo need, when they are missing:
#   time                      scripts/build-testplane.sh measures the cold build with GNU time
#   prometheus                Prometheus 2.42, run by the test plane on a free port
#   maven, openjdk-17 (JRE)   scripts/build-kafka.sh copies the Kafka jars; the broker runs on Java 17
#   mmdebstrap                `npm run image` takes the image's Debian packages with it
#   skopeo, umoci, runc       test/e2e/image.test.ts reads, unpacks and runs the image
# Called by scripts/build-testplane.sh (so `npm test` and `npm run demo` set themselves up) and by
# .ci/run. Without root it only says what to install.
set -euo pipefail
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v mvn >/dev/null || missing+=(maven)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v umoci >/dev/null || missing+=(umoci)
command -v runc >/dev/null || missing+=(runc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} (apt-get)" >&2
apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
