#!/usr/bin/env bash
# Install what carvis needs and is missing: minimap2, bwa, samtools, a C compiler with zlib (the
# k-mer screen is compiled by the workflow), igzip (fast decompression for the screen), npm as Debian
# packages; igv.js for the report's per-site views (npm, the version pinned in
# resources/igvjs/package-lock.json); and the Python package with its dependencies and test tools
# (pip, editable; MultiQC pinned). Safe to run again: it skips what is there.
# HPC users without root: use `snakemake --sdm conda` instead (envs/ holds pinned bioconda envs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

missing=()
for tool in minimap2 bwa samtools; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
igvjs="$here/resources/igvjs"
igv_version="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["dependencies"]["igv"])' "$igvjs/package.json")"
igv_installed="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$igvjs/node_modules/igv/package.json" 2>/dev/null || true)"
if [ "$igv_installed" != "$igv_version" ] && ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "carvis setup: installing ${missing[*]} (Debian packages)"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "carvis setup: no apt-get here; install ${missing[*]} yourself or use --sdm conda" >&2
        exit 1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Optional: igzip makes screening about 4x faster than with gzip; without it screening uses pigz or gzip.
if ! command -v igzip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "carvis setup: installing isal (igzip, optional)"
    { [ "${#missing[@]}" -gt 0 ] || $sudo apt-get update -qq; } >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq isal >/dev/null 2>&1 \
        || echo "carvis setup: isal not installed; screening will decompress with pigz or gzip"
fi

if [ "$igv_installed" != "$igv_version" ]; then
    echo "carvis setup: installing igv.js $igv_version (npm ci, resources/igvjs) for the report's views"
    npm ci --prefix "$igvjs" --no-audit --no-fund --loglevel=error >/dev/null
fi

if ! "$python" -c "import carvis, snakemake, pysam, Bio, pandas, pyfaidx, pytest, snakefmt, mypy, multiqc" >/dev/null 2>&1 \
    || [ "$("$python" -c 'import carvis, pathlib; print(pathlib.Path(carvis.__file__).resolve().parents[1])' 2>/dev/null)" != "$here/scripts" ]; then
    echo "carvis setup: installing the carvis Python package and its dependencies (pip)"
    "$python" -m pip install -q --disable-pip-version-check -e "$here[test]"
fi
echo "carvis setup: ready ($(minimap2 --version | head -1) minimap2, $(samtools --version | head -1))"
