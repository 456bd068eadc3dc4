/* kmer_screen: keep the read pairs that share a k-mer with the vector, plus a name-hash depth sample.
 *
 *   kmer_screen -k K -e E -s SEED.FRACTION -o PREFIX -1 R1 [-1 R1 ...] [-2 R2 ...] PIECES.fa ENDS.fa
 *   kmer_screen -c -1 R1 [-1 R1 ...] [-2 R2 ...]      (check only: no screening, no output FASTQs)
 *   kmer_screen -S MIN_CLIP [-w WINDOW] -k K -e E -s 0.0 -o PREFIX -1 SAM PIECES.fa ENDS.fa  (SAM mode, below)
 *
 * A pair is kept when either mate shares a K-mer with PIECES.fa (either strand) (the vector without its
 * host-homologous parts) or an E-mer with ENDS.fa (the provirus termini, so that junction
 * reads with a short vector part are kept too). A pair is in the depth sample when its read name
 * passes samtools' `view -s SEED.FRACTION` test (X31 + Wang hash of the name, seed scrambled by
 * srand/rand as samtools does), so `samtools view -s` finds the same sample in the aligned BAM.
 * Inputs are FASTQ, plain or gzipped (zlib); several files per mate are read as lanes in order.
 * Kept or sampled pairs go to PREFIX_R1.fastq / PREFIX_R2.fastq (plain: they are small).
 * Every record is checked: a damaged gzip, a record cut short, a record that is not FASTQ, mates whose
 * names (first word, without /1 or /2) differ, or lanes of R1 and R2 holding different numbers of reads
 * stop the run (exit 2) with one line on stderr, tab-separated for carvis.reads.screen:
 *   kmer_screen: error <kind> <file> <record (1-based in that file; 0: unknown)> <message>
 * with kind one of open, gzip, cut, format, count, names. Progress lines go to stderr; the counts to
 * stdout as TSV lines: `file <path> <records>` per input file (R1 files, then R2), then `pairs N`,
 * and unless -c `kept N`, `sampled N`, `written N` (kept or sampled).
 * Built by the workflow's build_kmer_screen rule (cc -O3 ... -lz); carvis.reads.screen drives it.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ, getline, strsep */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <zlib.h>

#define PROGRESS_EVERY 1000000ULL

static void die(const char *what, const char *file) {
    fprintf(stderr, "kmer_screen: %s: %s\n", what, file ? file : "");
    exit(2);
}

/* A problem with an input file: the structured line described at the top, then exit 2. */
static void input_error(const char *kind, const char *file, uint64_t record, const char *message) {
    fprintf(stderr, "kmer_screen: error\t%s\t%s\t%llu\t%s\n", kind, file, (unsigned long long)record, message);
    exit(2);
}

/* ---- canonical k-mer set: open addressing, key + 1 stored (0 = empty) ---- */
typedef struct {
    uint64_t *slot;
    uint64_t mask;
    uint64_t used;
} kset_t;

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void kset_init(kset_t *s, uint64_t capacity) {
    uint64_t n = 1024;
    while (n < 4 * capacity) n <<= 1;
    s->slot = calloc(n, sizeof(uint64_t));
    if (!s->slot) die("out of memory", NULL);
    s->mask = n - 1;
    s->used = 0;
}

static void kset_add(kset_t *s, uint64_t key) {
    uint64_t i = mix(key) & s->mask;
    while (s->slot[i] && s->slot[i] != key + 1) i = (i + 1) & s->mask;
    if (!s->slot[i]) {
        s->slot[i] = key + 1;
        s->used++;
    }
}

static inline int kset_has(const kset_t *s, uint64_t key) {
    uint64_t i = mix(key) & s->mask;
    while (s->slot[i]) {
        if (s->slot[i] == key + 1) return 1;
        i = (i + 1) & s->mask;
    }
    return 0;
}

static uint8_t CODE[256];

static void init_code(void) {
    memset(CODE, 4, sizeof CODE);
    CODE['A'] = CODE['a'] = 0;
    CODE['C'] = CODE['c'] = 1;
    CODE['G'] = CODE['g'] = 2;
    CODE['T'] = CODE['t'] = 3;
}

/* Shift base c (0-3) into the k-mer fwd and its reverse complement rev. */
static inline void roll(uint64_t *fwd, uint64_t *rev, uint64_t c, int k) {
    *fwd = ((*fwd << 2) | c) & ((1ULL << (2 * k)) - 1);
    *rev = (*rev >> 2) | ((3 - c) << (2 * k - 2));
}

/* Add every k-mer of seq[0..n) and of its reverse complement to the set (reads are then scanned
 * on one strand only). */
static void add_kmers(kset_t *s, const char *seq, size_t n, int k) {
    uint64_t fwd = 0, rev = 0;
    int len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = CODE[(uint8_t)seq[i]];
        if (c > 3) {
            len = 0;
            continue;
        }
        roll(&fwd, &rev, c, k);
        if (++len >= k) {
            kset_add(s, fwd);
            kset_add(s, rev);
        }
    }
}

/* Read a FASTA file; add the k-mers of each record. Returns the number of records. */
static int load_fasta(const char *path, kset_t *s, int k) {
    gzFile in = gzopen(path, "rb");
    if (!in) die("cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *seq = malloc(cap), line[65536];
    int records = 0;
    for (;;) {
        char *got = gzgets(in, line, sizeof line);
        if (!got || line[0] == '>') {
            if (n) add_kmers(s, seq, n, k);
            n = 0;
            if (!got) break;
            records++;
            continue;
        }
        size_t len = strcspn(line, "\r\n");
        if (n + len > cap) {
            while (n + len > cap) cap *= 2;
            seq = realloc(seq, cap);
            if (!seq) die("out of memory", NULL);
        }
        memcpy(seq + n, line, len);
        n += len;
    }
    gzclose(in);
    free(seq);
    return records;
}

/* ---- FASTQ reading over lanes ---- */
/* Records are parsed in place in one buffer: a record's four lines are handed out (NUL-terminated,
 * line ends removed) only once all four are in the buffer, so they stay valid until the next record. */
#define BUFFER_BYTES (4 << 20)
/* Bytes asked of gzread at a time: zlib keeps reading until it has them all, so a request larger than the
 * pipe from the decompressor would make the two processes take turns instead of running together. */
#define READ_BYTES (256 << 10)

typedef struct {
    char **files;
    int nfiles, cur;
    gzFile in;
    char *buf;
    size_t size, start, end; /* unread bytes: buf[start, end) */
    char *line[4];
    long len[4];       /* line lengths without the line end */
    uint64_t *counts;  /* records read from each file */
} reader_t;

static void reader_open(reader_t *r, char **files, int nfiles) {
    memset(r, 0, sizeof *r);
    r->files = files;
    r->nfiles = nfiles;
    r->cur = -1;
    r->size = BUFFER_BYTES;
    r->buf = malloc(r->size + 1);
    r->counts = calloc(nfiles ? nfiles : 1, sizeof(uint64_t));
    if (!r->buf || !r->counts) die("out of memory", NULL);
}

/* The file the last record came from (the current one), and that record's number in it. */
static const char *reader_file(const reader_t *r) { return r->files[r->cur]; }
static uint64_t reader_record(const reader_t *r) { return r->counts[r->cur]; }

/* A gzip stream that ended inside a member or held bad bytes (zlib reads plain files as they are). */
static void check_gzip(reader_t *r) {
    int err;
    const char *message = gzerror(r->in, &err);
    if (err == Z_BUF_ERROR) input_error("gzip", reader_file(r), 0, "the file ends inside a gzip member");
    if (err != Z_OK) input_error("gzip", reader_file(r), 0, message);
}

/* Move the unread bytes to the front and read more: 1 if bytes came (or a missing last line end
 * was added), 0 when the last file is done. A file ending inside a record is an error. */
static int refill(reader_t *r) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
    if (r->end == r->size) {
        r->size *= 2;
        r->buf = realloc(r->buf, r->size + 1);
        if (!r->buf) die("out of memory", NULL);
    }
    for (;;) {
        if (!r->in) {
            if (r->end)
                input_error("cut", reader_file(r), reader_record(r) + 1, "the file ends inside a FASTQ record");
            if (r->cur + 1 >= r->nfiles) return 0;
            r->cur++;
            r->in = gzopen(reader_file(r), "rb");
            if (!r->in) input_error("open", reader_file(r), 0, "cannot open the file");
            gzbuffer(r->in, 1 << 20);
        }
        size_t room = r->size - r->end;
        int got = gzread(r->in, r->buf + r->end, (unsigned)(room < READ_BYTES ? room : READ_BYTES));
        if (got < 0) check_gzip(r);
        if (got > 0) {
            r->end += (size_t)got;
            return 1;
        }
        check_gzip(r);
        if (gzclose(r->in) != Z_OK) input_error("gzip", reader_file(r), 0, "the file ends inside a gzip member");
        r->in = NULL;
        if (r->end && r->buf[r->end - 1] != '\n') {
            r->buf[r->end++] = '\n'; /* the buffer has one spare byte */
            return 1;
        }
        if (r->end) return 1; /* lets next_record see the rest; refill fails on it next time */
    }
}

/* Read one 4-line record; 0 at the end of the last file. */
static int next_record(reader_t *r) {
    char *nl[4];
    for (;;) {
        char *p = r->buf + r->start, *stop = r->buf + r->end;
        int n = 0;
        for (; n < 4 && (nl[n] = memchr(p, '\n', (size_t)(stop - p))); n++) p = nl[n] + 1;
        if (n == 4) break;
        if (!refill(r)) return 0;
    }
    char *p = r->buf + r->start;
    for (int i = 0; i < 4; i++) {
        r->line[i] = p;
        r->len[i] = nl[i] - p;
        if (r->len[i] && p[r->len[i] - 1] == '\r') r->len[i]--;
        p[r->len[i]] = '\0';
        p = nl[i] + 1;
    }
    r->start = (size_t)(p - r->buf);
    r->counts[r->cur]++;
    if (r->line[0][0] != '@' || r->line[2][0] != '+')
        input_error("format", reader_file(r), reader_record(r), "not a FASTQ record (no @ line or no + line)");
    if (r->len[1] != r->len[3]) {
        if (!r->in && r->start == r->end) /* the last record of the file, its quality line cut */
            input_error("cut", reader_file(r), reader_record(r), "the file ends inside a FASTQ record");
        input_error("format", reader_file(r), reader_record(r), "the sequence and quality lines differ in length");
    }
    return 1;
}

/* Length of a read's name: the first word after '@', without a trailing /1 or /2. */
static size_t name_length(const char *header) {
    const char *s = header + 1;
    size_t n = strcspn(s, " \t");
    if (n > 2 && s[n - 2] == '/' && (s[n - 1] == '1' || s[n - 1] == '2')) n -= 2;
    return n;
}

/* R1 and R2 must hold the same pairs in the same order, lane by lane. */
static void check_mates(const reader_t *a, const reader_t *b) {
    char message[1024];
    if (a->cur != b->cur) {
        const reader_t *early = a->cur > b->cur ? a : b, *late = a->cur > b->cur ? b : a;
        int lane = late->cur;
        snprintf(message, sizeof message, "holds %llu reads but its mate file %s holds more",
                 (unsigned long long)early->counts[lane], late->files[lane]);
        input_error("count", early->files[lane], 0, message);
    }
    size_t n = name_length(a->line[0]), m = name_length(b->line[0]);
    if (n != m || memcmp(a->line[0] + 1, b->line[0] + 1, n)) {
        snprintf(message, sizeof message, "mate %.*s does not match read %.*s, record %llu of %s: the mates are out of step",
                 (int)(m < 400 ? m : 400), b->line[0] + 1, (int)(n < 400 ? n : 400), a->line[0] + 1,
                 (unsigned long long)reader_record(a), reader_file(a));
        input_error("names", reader_file(b), reader_record(b), message);
    }
}

/* One mate ran out of reads before the other (`early` ended, `late` holds the record just read or more). */
static void unequal_mates(const reader_t *early, const reader_t *late) {
    char message[1024];
    int lane = late->cur < early->nfiles ? late->cur : early->nfiles - 1;
    snprintf(message, sizeof message, "holds %llu reads but its mate file %s holds more",
             (unsigned long long)early->counts[lane], late->files[late->cur]);
    input_error("count", early->files[lane], 0, message);
}

/* ---- samtools view -s: X31 hash of the name, Wang hash, seed ---- */
static uint32_t hash_name(const char *s, size_t n, uint32_t seed) {
    uint32_t h = n ? (uint8_t)s[0] : 0;
    for (size_t i = 1; i < n; i++) h = (h << 5) - h + (uint8_t)s[i];
    uint32_t key = h ^ seed;
    key += ~(key << 15);
    key ^= (key >> 10);
    key += (key << 3);
    key ^= (key >> 6);
    key += ~(key << 11);
    key ^= (key >> 16);
    return key;
}

/* Is the read (its name: FASTQ header without '@' and /1 or /2, or SAM QNAME) in the depth sample? */
static int in_depth_sample(const char *name, size_t n, uint32_t seed, double fraction) {
    return (double)(hash_name(name, n, seed) & 0xffffff) / 0x1000000 < fraction;
}

/* A prefilter: one bit per value of a k-mer's low `bits` bits, set for the k-mers of a set. Most read
 * k-mers fail this small (cache-resident) test and never probe the hash table. */
typedef struct {
    uint8_t *bit;
    uint64_t mask;
} prefilter_t;

static prefilter_t prefilter(const kset_t *s, int bits) {
    prefilter_t p = {calloc(((size_t)1 << bits) / 8, 1), ((uint64_t)1 << bits) - 1};
    if (!p.bit) die("out of memory", NULL);
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->slot[i]) {
            uint64_t low = (s->slot[i] - 1) & p.mask;
            p.bit[low >> 3] |= (uint8_t)(1u << (low & 7));
        }
    return p;
}

static inline int maybe(const prefilter_t *p, uint64_t key) {
    uint64_t low = key & p->mask;
    return p->bit[low >> 3] >> (low & 7) & 1;
}

typedef struct {
    kset_t kmers, ends;
    prefilter_t seen_k, seen_e;
    int k, e;
} screen_t;

/* K-mers are looked up at every STRIDE-th read position: a vector part of K + STRIDE - 1 bases or more
 * always holds one. A shorter vector part of a junction read lies at a read end and holds a provirus
 * terminus, so E-mers are looked up only within K + STRIDE - 2 bases of either read end. CODE maps
 * bases other than A, C, G, T to 4; a k-mer holding one is never looked up. */
#define STRIDE 3
/* Bits of the K-mer prefilter (512 kB; a vector gives some 10,000-20,000 K-mers, both strands). Measured on
 * 1M demo pairs, CPU seconds: 18 bits 1.2, 20 bits 0.87, 22 bits 0.78, 24 bits 1.3; a stride of 5 instead
 * of 3 changed little. */
#define PREFILTER_BITS 22

static inline int kmer_hit(const screen_t *sc, uint64_t key) {
    return maybe(&sc->seen_k, key) && kset_has(&sc->kmers, key);
}

static inline int end_hit(const screen_t *sc, uint64_t key) {
    return maybe(&sc->seen_e, key) && kset_has(&sc->ends, key);
}

/* touches_vector for any read: tracks runs of A/C/G/T (slow; for reads holding other letters). */
static int touches_vector_careful(const screen_t *sc, const char *seq, long n) {
    const int k = sc->k, e = sc->e;
    const long edge = k + STRIDE - 2;
    const uint64_t mask = (1ULL << (2 * k)) - 1, emask = (1ULL << (2 * e)) - 1;
    uint64_t fwd = 0;
    long good = 0;
    for (long i = 0; i < n; i++) {
        uint64_t c = CODE[(uint8_t)seq[i]];
        good = c > 3 ? 0 : good + 1;
        fwd = (fwd << 2) | (c & 3);
        if (good >= e && (i < edge || i - e + 1 >= n - edge) && end_hit(sc, fwd & emask)) return 1;
        if (good >= k && (i + 1) % STRIDE == 0 && kmer_hit(sc, fwd & mask)) return 1;
    }
    return 0;
}

/* Does the read share a K-mer with the vector pieces, or an E-mer with the vector ends near a read end?
 * Assumes A/C/G/T only and hands the read to touches_vector_careful when it finds another letter. The
 * ends (first and last `edge` bases) are rolled one base at a time with both lookups; the middle
 * STRIDE bases at a time with one K-mer lookup. */
static int touches_vector(const screen_t *sc, const char *seq, long n) {
    const int k = sc->k, e = sc->e;
    const long edge = k + STRIDE - 2;
    const uint64_t mask = (1ULL << (2 * k)) - 1, emask = (1ULL << (2 * e)) - 1;
    if (n < 4 * edge) return touches_vector_careful(sc, seq, n);
    uint64_t fwd = 0, bad = 0, c;
    long i = 0;
#define ROLL()                            \
    do {                                  \
        c = CODE[(uint8_t)seq[i]];        \
        bad |= c;                         \
        fwd = (fwd << 2) | (c & 3);       \
    } while (0)
    for (; i < edge || i % STRIDE; i++) {
        ROLL();
        if ((i >= e - 1 && i < edge && end_hit(sc, fwd & emask)) ||
            (i >= k - 1 && (i + 1) % STRIDE == 0 && kmer_hit(sc, fwd & mask)))
            goto hit;
    }
    while (i + STRIDE <= n - edge) {
        for (int j = 0; j < STRIDE; j++, i++) ROLL();
        if (kmer_hit(sc, fwd & mask)) goto hit;
    }
    for (; i < n; i++) {
        ROLL();
        if ((i - e + 1 >= n - edge && end_hit(sc, fwd & emask)) ||
            ((i + 1) % STRIDE == 0 && kmer_hit(sc, fwd & mask)))
            goto hit;
    }
#undef ROLL
    return bad > 3 ? touches_vector_careful(sc, seq, n) : 0;
hit:
    return bad > 3 ? touches_vector_careful(sc, seq, n) : 1;
}

static void write_record(FILE *out, const reader_t *r) {
    for (int i = 0; i < 4; i++)
        if (fwrite(r->line[i], 1, (size_t)r->len[i], out) != (size_t)r->len[i] || fputc('\n', out) == EOF)
            die("cannot write", "output FASTQ");
}

/* Read every pair, checking the records and that the mates are in step; with `sc` also screen them. */
static void scan(reader_t *a, reader_t *b, int paired, const screen_t *sc, uint32_t seed, double fraction,
                 FILE *out1, FILE *out2, uint64_t count[4]) {
    while (next_record(a)) {
        if (paired) {
            if (!next_record(b)) unequal_mates(b, a);
            check_mates(a, b);
        }
        count[0]++;
        if (sc) {
            int in_sample = in_depth_sample(a->line[0] + 1, name_length(a->line[0]), seed, fraction);
            int keep = touches_vector(sc, a->line[1], a->len[1]) || (paired && touches_vector(sc, b->line[1], b->len[1]));
            count[1] += keep;
            count[2] += in_sample;
            if (keep || in_sample) {
                count[3]++;
                write_record(out1, a);
                if (paired) write_record(out2, b);
            }
        }
        if (count[0] % PROGRESS_EVERY == 0) fprintf(stderr, "kmer_screen: %llu pairs\n", (unsigned long long)count[0]);
    }
    if (paired && next_record(b)) unequal_mates(a, b);
}

/* ---- SAM mode (-S MIN_CLIP): a BAM/CRAM's records, as SAM text (samtools view -F 0x100), to paired FASTQ ---- */
/* A pair is selected when a mate is unmapped, has its mate unmapped, is not properly paired, has MIN_CLIP or
 * more soft-clipped bases or touches the vector (read in its sequenced orientation, as from FASTQ). Both
 * mates of a selected pair go to PREFIX_R1.fastq.gz and PREFIX_R2.fastq.gz (by flag 0x40/0x80), reads
 * as sequenced. The first mate of each pair waits in a window of the last WINDOW (-w)
 * unmatched records (coordinate-sorted: a proper pair's mate is near; name-sorted: it is next); a record
 * leaving the window unmatched goes to PREFIX.spill.tsv, which is sorted by name (sort -S) at the end and
 * paired there. The header and every record (supplementary ones too) whose name passes the -s test go to
 * PREFIX.depth.sam, the depth sample; supplementary records are otherwise skipped. A read without its
 * mate in the file, a name held by more than two records, a pair that is not one READ1 and one READ2, a
 * single-end or secondary record, or a line that is not SAM stops the run (exit 2, the error line above).
 * Counts: `file SAM N` (primary records), `pairs`, `kept` (= `written`), `sampled` (pairs). */
#define WINDOW (1 << 16) /* the default; -w sets it */
#define BUCKETS (1 << 12)
#define SAM_CHUNK (1 << 20)

typedef struct {
    char *block; /* name \0 seq \0 qual \0 */
    int name_len, len, flag, selected, next, live;
    uint32_t hash;
} pending_t;

typedef struct {
    const screen_t *sc;
    int min_clip;
    const char *file;
    gzFile r1, r2;
    FILE *spill, *depth; /* depth: the header and the records in the depth sample, as SAM */
    uint32_t seed;
    double fraction;
    uint64_t window;   /* records waiting for their mate at most */
    pending_t *slot;   /* ring of window records, oldest at head % window */
    int32_t *bucket;   /* chains of live slots by name hash */
    uint32_t buckets;  /* a power of two: few live records (a proper pair's mate is near), so a small, cached table */
    uint64_t head, tail, line;
    uint64_t records, pairs, kept, spilled, sampled;
    char *out, *scratch; /* a FASTQ record; a read reverse-complemented */
    size_t out_size, scratch_size;
} pairer_t;

static uint8_t COMPLEMENT[256];

static uint32_t bytes_hash(const char *s, int n) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The read as sequenced: seq[0..n) reverse-complemented into out (a record on the reverse strand). */
static void reverse_complement(char *out, const char *seq, int n) {
    for (int i = 0; i < n; i++) out[i] = (char)COMPLEMENT[(uint8_t)seq[n - 1 - i]];
}

/* Soft-clipped bases of a CIGAR (samtools' sclen: S operations sit at the read ends). */
static long soft_clipped(const char *cigar, long n) {
    long total = 0, count = 0;
    for (long i = 0; i < n; i++) {
        char c = cigar[i];
        if (c >= '0' && c <= '9') count = count * 10 + (c - '0');
        else {
            if (c == 'S') total += count;
            count = 0;
        }
    }
    return total;
}

typedef struct {
    const char *name, *seq, *qual; /* qual NULL: none */
    int name_len, len, flag, selected;
} mate_t;

/* One read as FASTQ, as sequenced (records with flag 0x10 reverse-complemented, qualities reversed). */
static void write_fastq(pairer_t *p, gzFile out, const mate_t *m) {
    size_t need = (size_t)m->name_len + 2 * (size_t)m->len + 8;
    if (need > p->out_size) {
        p->out_size = 2 * need;
        p->out = realloc(p->out, p->out_size);
        if (!p->out) die("out of memory", NULL);
    }
    char *o = p->out;
    int n = m->len, reverse = m->flag & 16;
    *o++ = '@';
    memcpy(o, m->name, (size_t)m->name_len), o += m->name_len;
    *o++ = '\n';
    if (reverse) reverse_complement(o, m->seq, n);
    else memcpy(o, m->seq, (size_t)n);
    o += n;
    memcpy(o, "\n+\n", 3), o += 3;
    if (!m->qual) memset(o, 'B', (size_t)n); /* no qualities (QUAL '*'): samtools fastq writes B */
    else if (reverse)
        for (int i = 0; i < n; i++) o[i] = m->qual[n - 1 - i];
    else memcpy(o, m->qual, (size_t)n);
    o += n;
    *o++ = '\n';
    if (gzwrite(out, p->out, (unsigned)(o - p->out)) != (int)(o - p->out)) die("cannot write", "output FASTQ");
}

static void sam_error(const pairer_t *p, uint64_t line, const char *message) {
    input_error("format", p->file, line, message);
}

/* Both mates of a pair: written when either is selected. */
static void pair_up(pairer_t *p, const mate_t *a, const mate_t *b) {
    int ra = a->flag & 0xC0, rb = b->flag & 0xC0;
    if (!((ra == 0x40 && rb == 0x80) || (ra == 0x80 && rb == 0x40))) {
        char message[600];
        snprintf(message, sizeof message, "the records of read %.*s are not one first (flag 0x40) and one second "
                 "(flag 0x80) mate, or its name is held by more than one pair", a->name_len < 400 ? a->name_len : 400, a->name);
        sam_error(p, p->line, message);
    }
    p->pairs++;
    if (!a->selected && !b->selected) return;
    p->kept++;
    const mate_t *first = ra == 0x40 ? a : b, *second = ra == 0x40 ? b : a;
    write_fastq(p, p->r1, first);
    write_fastq(p, p->r2, second);
}

static void spill(pairer_t *p, const mate_t *m) {
    fprintf(p->spill, "%.*s\t%d\t%d\t%.*s\t%.*s\n", m->name_len, m->name, m->selected, m->flag, m->len, m->seq,
            m->len, m->qual ? m->qual : "*");
    p->spilled++;
}

static mate_t pending_mate(const pending_t *e) {
    mate_t m = {e->block, e->block + e->name_len + 1, e->block + e->name_len + e->len + 2,
                e->name_len, e->len, e->flag, e->selected};
    if (m.qual[0] == '\0' && m.len) m.qual = NULL;
    return m;
}

/* Take slot s out of its hash chain and free it. */
static void unlink_slot(pairer_t *p, int32_t s) {
    pending_t *e = &p->slot[s];
    int32_t *at = &p->bucket[e->hash & (p->buckets - 1)];
    while (*at != s) at = &p->slot[*at].next;
    *at = e->next;
    free(e->block);
    e->block = NULL;
    e->live = 0;
}

/* The live slot holding name, or -1. */
static int32_t find(const pairer_t *p, const char *name, int n, uint32_t hash) {
    for (int32_t s = p->bucket[hash & (p->buckets - 1)]; s >= 0; s = p->slot[s].next) {
        const pending_t *e = &p->slot[s];
        if (e->hash == hash && e->name_len == n && !memcmp(e->block, name, (size_t)n)) return s;
    }
    return -1;
}

static void evict_oldest(pairer_t *p) {
    int32_t s = (int32_t)(p->head++ % p->window);
    if (!p->slot[s].live) return;
    mate_t m = pending_mate(&p->slot[s]);
    spill(p, &m);
    unlink_slot(p, s);
}

static void wait_for_mate(pairer_t *p, const mate_t *m, uint32_t hash) {
    if (p->tail - p->head == p->window) evict_oldest(p);
    int32_t s = (int32_t)(p->tail++ % p->window);
    pending_t *e = &p->slot[s];
    e->block = malloc((size_t)m->name_len + 2 * (size_t)m->len + 3);
    if (!e->block) die("out of memory", NULL);
    char *b = e->block;
    memcpy(b, m->name, (size_t)m->name_len), b += m->name_len, *b++ = '\0';
    memcpy(b, m->seq, (size_t)m->len), b += m->len, *b++ = '\0';
    if (m->qual) memcpy(b, m->qual, (size_t)m->len), b += m->len;
    *b = '\0';
    e->name_len = m->name_len, e->len = m->len, e->flag = m->flag, e->selected = m->selected;
    e->hash = hash, e->live = 1;
    int32_t *chain = &p->bucket[hash & (p->buckets - 1)];
    e->next = *chain;
    *chain = s;
}

/* Does the read, as sequenced, touch the vector? */
static int screen_read(pairer_t *p, const mate_t *m) {
    if (!(m->flag & 16)) return touches_vector(p->sc, m->seq, m->len);
    if ((size_t)m->len > p->scratch_size) {
        p->scratch_size = 2 * (size_t)m->len;
        if (!(p->scratch = realloc(p->scratch, p->scratch_size))) die("out of memory", NULL);
    }
    reverse_complement(p->scratch, m->seq, m->len);
    return touches_vector(p->sc, p->scratch, m->len);
}

/* One SAM line at line (avail bytes in the buffer, which holds a spare byte after them): the bytes it takes
 * with its line end, or 0 when it does not end within avail bytes. The record is modified in place. SEQ and
 * QUAL are found by length, so the long fields are scanned once. */
static size_t sam_line(pairer_t *p, char *line, size_t avail) {
    char *end = line + avail, *field[11], *q = line, *nl;
    if (line[0] == '@') {
        if (!(nl = memchr(line, '\n', avail))) return 0;
        size_t used = (size_t)(nl + 1 - line);
        if (fwrite(line, 1, used, p->depth) != used) die("cannot write", "depth sample");
        return used;
    }
    for (int i = 0; i < 10; i++) {
        char *tab = memchr(q, '\t', (size_t)(end - q));
        if (!tab) return 0;
        field[i] = q, q = tab + 1;
    }
    field[10] = q;
    if (end - q < 2) return 0; /* QUAL and the line end take 2 bytes or more */
    if (memchr(line, '\n', (size_t)(field[9] - line)))
        sam_error(p, p->line + 1, "not a SAM record (fewer than 11 tab-separated fields)");
    mate_t m = {field[0], field[9], field[10], (int)(field[1] - field[0] - 1), (int)(field[10] - field[9] - 1),
                atoi(field[1]), 0};
    if (m.len == 1 && m.seq[0] == '*') m.len = 0;
    int has_qual = !(q[0] == '*' && (q[1] == '\t' || q[1] == '\n'));
    char *qual_end = q + (has_qual ? m.len : 1);
    if (qual_end >= end) return 0;
    if (*qual_end == '\t') {
        if (!(nl = memchr(qual_end, '\n', (size_t)(end - qual_end)))) return 0;
    } else nl = qual_end;
    p->line++;
    if (*qual_end != '\t' && *qual_end != '\n') sam_error(p, p->line, "SEQ and QUAL differ in length");
    size_t used = (size_t)(nl + 1 - line);
    if (p->fraction > 0 && in_depth_sample(m.name, (size_t)m.name_len, p->seed, p->fraction)) {
        if (fwrite(line, 1, used, p->depth) != used) die("cannot write", "depth sample");
        p->sampled += (m.flag & 0x8C0) == 0x40; /* pairs: count first mates */
    }
    if (m.flag & 0x800) return used; /* supplementary: in the depth sample only */
    for (int i = 1; i < 11; i++) field[i][-1] = '\0'; /* the line is whole: cut it into fields */
    *qual_end = '\0';
    if (!has_qual) m.qual = NULL;
    if (!(m.flag & 1))
        sam_error(p, p->line, "a single-end read (flag 0x1 not set): carvis takes paired-end BAM/CRAM input");
    if (m.flag & 0x100) sam_error(p, p->line, "a secondary record (give samtools view -F 0x100)");
    p->records++;
    uint32_t hash = bytes_hash(m.name, m.name_len);
    int32_t s = find(p, m.name, m.name_len, hash);
    m.selected = (m.flag & 0xC) || !(m.flag & 2) || soft_clipped(field[5], field[6] - field[5] - 1) >= p->min_clip;
    if (!m.selected && !(s >= 0 && p->slot[s].selected)) m.selected = screen_read(p, &m);
    if (s < 0) wait_for_mate(p, &m, hash);
    else {
        mate_t mate = pending_mate(&p->slot[s]);
        pair_up(p, &mate, &m);
        unlink_slot(p, s);
    }
    if (p->records % PROGRESS_EVERY == 0) fprintf(stderr, "kmer_screen: %llu records\n", (unsigned long long)p->records);
    return used;
}

/* Pair the spilled records (sorted by name with sort -S). */
static void pair_spill(pairer_t *p, const char *path) {
    int fd[2];
    if (pipe(fd)) die("cannot start", "sort");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]), close(fd[1]);
        setenv("LC_ALL", "C", 1);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else strcpy(dir, ".");
        /* temporary files beside the spill file (the results folder), not in a small /tmp */
        execlp("sort", "sort", "-t", "\t", "-k1,1", "-S", "512M", "-T", dir, path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    char *line[2] = {NULL, NULL};
    size_t cap[2] = {0, 0};
    mate_t m[2];
    int have = 0;
    for (;;) {
        int slot = have;
        ssize_t n = getline(&line[slot], &cap[slot], in);
        if (n > 0) {
            line[slot][--n] = '\0';
            char *f[5], *q = line[slot];
            for (int i = 0; i < 5; i++) f[i] = strsep(&q, "\t");
            if (!f[4]) die("damaged spill file", path);
            m[slot] = (mate_t){f[0], f[3], f[4], (int)strlen(f[0]), (int)strlen(f[3]), atoi(f[2]), atoi(f[1])};
            if (!strcmp(f[4], "*") && m[slot].len != 1) m[slot].qual = NULL;
        }
        if (have == 1 && (n <= 0 || m[1].name_len != m[0].name_len || strcmp(m[0].name, m[1].name))) {
            char message[600];
            snprintf(message, sizeof message, "read %.*s has no mate in the file: carvis needs every read of the "
                     "sample (the BAM/CRAM as the aligner wrote it, not a region or a filtered subset)",
                     m[0].name_len < 400 ? m[0].name_len : 400, m[0].name);
            input_error("mates", p->file, 0, message);
        }
        if (n <= 0) break;
        if (have == 1) {
            pair_up(p, &m[0], &m[1]);
            have = 0;
        } else have = 1;
    }
    int status;
    fclose(in);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) die("sort failed on", path);
    free(line[0]), free(line[1]);
}

static void sam_scan(pairer_t *p) {
    int fd = open(p->file, O_RDONLY);
    if (fd < 0) input_error("open", p->file, 0, "cannot open the file");
#ifdef F_SETPIPE_SZ
    fcntl(fd, F_SETPIPE_SZ, 1 << 20); /* fewer, larger transfers from samtools (fails harmlessly on a file) */
#endif
    size_t size = 4 * SAM_CHUNK, start = 0, end = 0, used;
    char *buf = malloc(size + 1);
    if (!buf) die("out of memory", NULL);
    for (;;) {
        while (start < end && (used = sam_line(p, buf + start, end - start))) start += used;
        memmove(buf, buf + start, end - start);
        end -= start, start = 0;
        if (size - end < SAM_CHUNK) {
            size *= 2;
            if (!(buf = realloc(buf, size + 1))) die("out of memory", NULL);
        }
        ssize_t got = read(fd, buf + end, SAM_CHUNK);
        if (got < 0) input_error("open", p->file, 0, "cannot read the file");
        if (got == 0) break;
        end += (size_t)got;
    }
    if (end) sam_error(p, p->line + 1, "the SAM text ends inside a line");
    close(fd);
    free(buf);
}

/* SAM mode: read p->file, write the selected pairs, print the counts. */
static void sam_main(pairer_t *p, const char *prefix) {
    for (int i = 0; i < 256; i++) COMPLEMENT[i] = (uint8_t)i;
    const char *pairs = "ACGTNacgtnRYKMSWrykmsw", *mates = "TGCANtgcanYRMKSWyrmksw";
    for (int i = 0; pairs[i]; i++) COMPLEMENT[(uint8_t)pairs[i]] = (uint8_t)mates[i];
    char path[4096];
    snprintf(path, sizeof path, "%s_R1.fastq.gz", prefix);
    if (!(p->r1 = gzopen(path, "wb1"))) die("cannot write", path);
    snprintf(path, sizeof path, "%s_R2.fastq.gz", prefix);
    if (!(p->r2 = gzopen(path, "wb1"))) die("cannot write", path);
    gzbuffer(p->r1, 1 << 20), gzbuffer(p->r2, 1 << 20);
    snprintf(path, sizeof path, "%s.depth.sam", prefix);
    if (!(p->depth = fopen(path, "w"))) die("cannot write", path);
    snprintf(path, sizeof path, "%s.spill.tsv", prefix);
    if (!(p->spill = fopen(path, "w"))) die("cannot write", path);
    for (p->buckets = 1; p->buckets < p->window && p->buckets < BUCKETS; p->buckets <<= 1) {}
    p->slot = calloc(p->window, sizeof(pending_t));
    p->bucket = malloc(p->buckets * sizeof(int32_t));
    if (!p->slot || !p->bucket) die("out of memory", NULL);
    memset(p->bucket, 0xff, p->buckets * sizeof(int32_t));
    sam_scan(p);
    while (p->head < p->tail) evict_oldest(p);
    if (fclose(p->spill)) die("cannot write", path);
    if (p->spilled) pair_spill(p, path);
    if (gzclose(p->r1) != Z_OK || gzclose(p->r2) != Z_OK || fclose(p->depth)) die("cannot write", prefix);
    printf("file\t%s\t%llu\npairs\t%llu\nkept\t%llu\nsampled\t%llu\nwritten\t%llu\n", p->file,
           (unsigned long long)p->records, (unsigned long long)p->pairs, (unsigned long long)p->kept,
           (unsigned long long)p->sampled, (unsigned long long)p->kept);
    fprintf(stderr, "kmer_screen: %llu records, %llu pairs, %llu kept, %llu records paired after the window\n",
            (unsigned long long)p->records, (unsigned long long)p->pairs, (unsigned long long)p->kept,
            (unsigned long long)p->spilled);
}

static void print_counts(const reader_t *r) {
    for (int i = 0; i < r->nfiles; i++)
        printf("file\t%s\t%llu\n", r->files[i], (unsigned long long)r->counts[i]);
}

int main(int argc, char **argv) {
    int k = 16, e = 12, opt, n1 = 0, n2 = 0, check_only = 0, min_clip = -1, window = WINDOW;
    const char *prefix = NULL, *sample = NULL;
    char **r1 = calloc(argc, sizeof(char *)), **r2 = calloc(argc, sizeof(char *));
    const char *usage = "usage: kmer_screen -k K(8-31) -e E(8-K) -s SEED.FRACTION -o PREFIX -1 R1.. [-2 R2..] "
                        "PIECES.fa ENDS.fa, or kmer_screen -c -1 R1.. [-2 R2..], or kmer_screen -S MIN_CLIP [-w WINDOW] -k K "
                        "-e E -s SEED.FRACTION -o PREFIX -1 SAM PIECES.fa ENDS.fa";
    while ((opt = getopt(argc, argv, "ck:e:s:o:1:2:S:w:")) != -1) {
        if (opt == 'c') check_only = 1;
        else if (opt == 'S') min_clip = atoi(optarg);
        else if (opt == 'w') window = atoi(optarg);
        else if (opt == 'k') k = atoi(optarg);
        else if (opt == 'e') e = atoi(optarg);
        else if (opt == 's') sample = optarg;
        else if (opt == 'o') prefix = optarg;
        else if (opt == '1') r1[n1++] = optarg;
        else if (opt == '2') r2[n2++] = optarg;
        else die(usage, NULL);
    }
    if (!n1 || (n2 && n2 != n1) || (min_clip >= 0 && (n1 != 1 || n2 || window < 1))) die(usage, NULL);
    if (!check_only && (!prefix || !sample || argc - optind != 2 || k < 8 || k > 31 || e < 8 || e > k))
        die(usage, NULL);
    reader_t a, b;
    reader_open(&a, r1, n1);
    reader_open(&b, r2, n2);
    uint64_t count[4] = {0, 0, 0, 0}; /* pairs, kept, sampled, written */
    if (check_only) {
        scan(&a, &b, n2 > 0, NULL, 0, 0.0, NULL, NULL, count);
        print_counts(&a);
        print_counts(&b);
        printf("pairs\t%llu\n", (unsigned long long)count[0]);
        return fflush(stdout) ? 2 : 0;
    }
    /* samtools view -s SEED.FRACTION: a non-zero seed is scrambled with srand/rand. */
    char *rest;
    long seed_arg = strtol(sample, &rest, 10);
    uint32_t seed = 0;
    if (seed_arg) {
        srand((unsigned)seed_arg);
        seed = (uint32_t)rand();
    }
    double fraction = (*rest == '.') ? strtod(rest, NULL) : 0.0;

    init_code();
    screen_t sc = {.k = k, .e = e};
    kset_init(&sc.kmers, 1 << 17);
    kset_init(&sc.ends, 64);
    load_fasta(argv[optind], &sc.kmers, k);
    load_fasta(argv[optind + 1], &sc.ends, e);
    if (!sc.kmers.used) die("no k-mers in", argv[optind]);
    sc.seen_k = prefilter(&sc.kmers, PREFILTER_BITS);
    sc.seen_e = prefilter(&sc.ends, 16);

    if (min_clip >= 0) {
        pairer_t p = {.sc = &sc, .min_clip = min_clip, .file = r1[0], .window = (uint64_t)window, .seed = seed,
                      .fraction = fraction};
        sam_main(&p, prefix);
        return fflush(stdout) ? 2 : 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s_R1.fastq", prefix);
    FILE *out1 = fopen(path, "w");
    if (!out1) die("cannot write", path);
    snprintf(path, sizeof path, "%s_R2.fastq", prefix);
    FILE *out2 = fopen(path, "w");
    if (!out2) die("cannot write", path);
    scan(&a, &b, n2 > 0, &sc, seed, fraction, out1, out2, count);
    if (fclose(out1) || fclose(out2)) die("cannot write", prefix);
    print_counts(&a);
    print_counts(&b);
    printf("pairs\t%llu\nkept\t%llu\nsampled\t%llu\nwritten\t%llu\n", (unsigned long long)count[0],
           (unsigned long long)count[1], (unsigned long long)count[2], (unsigned long long)count[3]);
    return fflush(stdout) ? 2 : 0;
}
