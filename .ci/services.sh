#!/bin/bash
# Install the system packages the source tests need (idempotent: installs only what is missing).
#
#   GStreamer RTSP server + Python bindings  -> tests/rtsp_server.py, run with /usr/bin/python3
#   ffmpeg                                    -> the FIFO "webcam" in tests/sources/test_webcam_source.py
#   mosquitto                                 -> MQTT alert channel tests (each test session starts its own)
#   postgresql                                -> .ci/pg_start.sh (store tests on PostgreSQL)
#   chromium                                  -> dashboard tests in a real browser (Playwright drives
#                                                /usr/bin/chromium; never `playwright install`)
#
# Usage (as root, or with sudo available):  .ci/services.sh
# Then tests run with CI=1 fail instead of skip when a component is missing.
set -euo pipefail

PACKAGES=(
  gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-tools
  python3-gi python3-gst-1.0
  ffmpeg
  mosquitto
  postgresql
  chromium
)

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "services: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "services: all packages present"
fi

# The RTSP server needs the system Python (pyenv's python3 and venvs have no gi).
/usr/bin/python3 -c "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); from gi.repository import Gst, GstRtspServer; Gst.init(None)" \
  || { echo "services: /usr/bin/python3 cannot import GStreamer RTSP server bindings" >&2; exit 1; }
for element in qtdemux matroskademux h264parse rtph264pay appsrc appsink parsebin; do
  gst-inspect-1.0 --exists "$element" || { echo "services: GStreamer element $element missing" >&2; exit 1; }
done
ffmpeg -hide_banner -version >/dev/null || { echo "services: ffmpeg does not run" >&2; exit 1; }
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "services: mosquitto missing" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "services: /usr/bin/chromium missing" >&2; exit 1; }
echo "services: ready (GStreamer RTSP server, ffmpeg, mosquitto, PostgreSQL, Chromium)"
