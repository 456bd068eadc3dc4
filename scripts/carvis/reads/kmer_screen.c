/* kmer_screen: keep the read pairs that share a k-mer with the vector, plus a name-hash depth sample.
 *
 *   kmer_screen -k K -e E -s SEED.FRACTION -o PREFIX -1 R1 [-1 R1 ...] [-2 R2 ...] PIECES.fa ENDS.fa
 *   kmer_screen -c -1 R1 [-1 R1 ...] [-2 R2 ...]      (check only: no screening, no output FASTQs)
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
static uint32_t name_hash(const char *header, uint32_t seed) {
    const char *s = header + 1;
    size_t n = name_length(header);
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
            int in_sample = (double)(name_hash(a->line[0], seed) & 0xffffff) / 0x1000000 < fraction;
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

static void print_counts(const reader_t *r) {
    for (int i = 0; i < r->nfiles; i++)
        printf("file\t%s\t%llu\n", r->files[i], (unsigned long long)r->counts[i]);
}

int main(int argc, char **argv) {
    int k = 16, e = 12, opt, n1 = 0, n2 = 0, check_only = 0;
    const char *prefix = NULL, *sample = NULL;
    char **r1 = calloc(argc, sizeof(char *)), **r2 = calloc(argc, sizeof(char *));
    const char *usage = "usage: kmer_screen -k K(8-31) -e E(8-K) -s SEED.FRACTION -o PREFIX -1 R1.. [-2 R2..] "
                        "PIECES.fa ENDS.fa, or kmer_screen -c -1 R1.. [-2 R2..]";
    while ((opt = getopt(argc, argv, "ck:e:s:o:1:2:")) != -1) {
        if (opt == 'c') check_only = 1;
        else if (opt == 'k') k = atoi(optarg);
        else if (opt == 'e') e = atoi(optarg);
        else if (opt == 's') sample = optarg;
        else if (opt == 'o') prefix = optarg;
        else if (opt == '1') r1[n1++] = optarg;
        else if (opt == '2') r2[n2++] = optarg;
        else die(usage, NULL);
    }
    if (!n1 || (n2 && n2 != n1)) die(usage, NULL);
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
