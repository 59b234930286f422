/* The threshold model, interactive: its automatic segmentation corrected by the user's clicks.
 *
 * The prediction for a set of clicks is a function of those clicks alone (so a static
 * file's k-th prediction and a closed loop's k-th answer agree for the same clicks):
 *   1. start from the automatic segmentation (predict.c's segment(), 0 clicks);
 *   2. each lesion click grows a region from the click: the 6-connected voxels whose
 *      contrast to the liver has the click's sign and a size near the click's own
 *      (GROW_* below); a click that looks like liver (the lesion is invisible here)
 *      marks a ball of BALL_MM around itself. A click on a lesion already found
 *      replaces what was found there with its own region;
 *   3. each background click removes the predicted region that holds it, unless a
 *      lesion click is in that region too (the lesion click wins).
 * The closed-loop protocol is the one of examples/interactive_client.py, in C.
 */
#include "interactive.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clicks.h"
#include "model.h"

/* A grown region: the voxels whose contrast to the liver lies between GROW_FRACTION of
 * the click's (at least GROW_FLOOR_HU: what is nearer the liver's intensity is liver,
 * noise included) and GROW_CEILING times it (fat and bone never join), within REACH_MM
 * of the click (a 32 mm lesion's diameter). Chosen on the demo data's validation cases. */
#define GROW_FRACTION 0.4f
#define GROW_FLOOR_HU 14.0f
#define GROW_CEILING 1.5f
#define REACH_MM 32.0f
/* A background click this close to a region's strongest contrast is on its core. */
#define CORE_FRACTION 0.7f
/* How far from a click at a lesion's edge the edge moves. */
#define EDIT_MM 6.0f
/* What a click on an invisible lesion (contrast under TOLERANCE_HU) marks. */
#define BALL_MM 5.0f
#define PATH_MAX_LEN 4096

typedef struct {
    Volume vol;               /* the image, smoothed by segment() */
    float liver;              /* the liver's intensity */
    float spacing[3];         /* mm, x y z */
    size_t n;                 /* voxels */
    unsigned char *automatic; /* the 0-click segmentation */
    uint32_t *seen;           /* scratch: 1 on the voxels a search visited, else 0 */
    uint32_t *queue;          /* scratch */
} Case;

static int index_of(const Case *c, const int p[3], size_t *out) {
    const int *d = c->vol.dim;
    if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[0] >= d[0] || p[1] >= d[1] || p[2] >= d[2])
        return 0;
    *out = (size_t)p[0] + (size_t)d[0] * ((size_t)p[1] + (size_t)d[1] * p[2]);
    return 1;
}

static void coords(const Case *c, size_t i, int p[3]) {
    const int *d = c->vol.dim;
    p[0] = (int)(i % (size_t)d[0]);
    p[1] = (int)((i / d[0]) % (size_t)d[1]);
    p[2] = (int)(i / ((size_t)d[0] * d[1]));
}

static float distance_mm(const Case *c, const int a[3], const int b[3]) {
    float s = 0;
    for (int axis = 0; axis < 3; axis++) {
        float t = (float)(a[axis] - b[axis]) * c->spacing[axis];
        s += t * t;
    }
    return sqrtf(s);
}

/* The 6-connected search from seed over the voxels accept() takes; returns how many
 * are in c->queue, each marked in c->seen (the caller clears them with unsee()). */
typedef int (*Accept)(const Case *c, size_t i, const void *arg);

static size_t search(const Case *c, size_t seed, Accept accept, const void *arg) {
    const int *d = c->vol.dim;
    size_t head = 0, tail = 0;
    c->queue[tail++] = (uint32_t)seed;
    c->seen[seed] = 1;
    while (head < tail) {
        size_t i = c->queue[head++];
        int p[3];
        coords(c, i, p);
        size_t plane = (size_t)d[0] * d[1], nb[6];
        int k = 0;
        if (p[0] > 0) nb[k++] = i - 1;
        if (p[0] < d[0] - 1) nb[k++] = i + 1;
        if (p[1] > 0) nb[k++] = i - d[0];
        if (p[1] < d[1] - 1) nb[k++] = i + d[0];
        if (p[2] > 0) nb[k++] = i - plane;
        if (p[2] < d[2] - 1) nb[k++] = i + plane;
        for (int j = 0; j < k; j++) {
            if (!c->seen[nb[j]] && accept(c, nb[j], arg)) {
                c->seen[nb[j]] = 1;
                c->queue[tail++] = (uint32_t)nb[j];
            }
        }
    }
    return tail;
}

static void unsee(const Case *c, size_t count) {
    for (size_t j = 0; j < count; j++) c->seen[c->queue[j]] = 0;
}

/* What a search may enter: voxels within `reach` mm of the seed whose signed contrast
 * to the liver lies in [lo, hi], inside the prediction `within` when it is set. */
typedef struct {
    int seed[3];
    float sign, lo, hi, reach;
    const unsigned char *within;
} Grow;

static int grows(const Case *c, size_t i, const void *arg) {
    const Grow *g = arg;
    if (g->within && !g->within[i]) return 0;
    float dev = g->sign * (c->vol.data[i] - c->liver);
    int p[3];
    coords(c, i, p);
    return dev >= g->lo && dev <= g->hi && distance_mm(c, p, g->seed) <= g->reach;
}

/* Sets out to value on the voxels the search from p (whatever it is) reaches. */
static void paint(const Case *c, const int p[3], const Grow *g, unsigned char value,
                  unsigned char *out) {
    size_t i;
    index_of(c, p, &i);
    size_t count = search(c, i, grows, g);
    for (size_t j = 0; j < count; j++) out[c->queue[j]] = value;
    unsee(c, count);
}

static void ball(const Case *c, const int centre[3], unsigned char *out) {
    int lo[3], hi[3];
    for (int axis = 0; axis < 3; axis++) {
        int r = (int)ceilf(BALL_MM / c->spacing[axis]);
        lo[axis] = centre[axis] - r > 0 ? centre[axis] - r : 0;
        int last = c->vol.dim[axis] - 1;
        hi[axis] = centre[axis] + r < last ? centre[axis] + r : last;
    }
    int p[3];
    size_t i;
    for (p[2] = lo[2]; p[2] <= hi[2]; p[2]++)
        for (p[1] = lo[1]; p[1] <= hi[1]; p[1]++)
            for (p[0] = lo[0]; p[0] <= hi[0]; p[0]++)
                if (distance_mm(c, p, centre) <= BALL_MM && index_of(c, p, &i)) out[i] = 1;
}

/* The strongest contrast to the liver in the 3x3x3 box at p (its sign included), and
 * whether the box touches the prediction. */
static float box_peak(const Case *c, const int p[3], const unsigned char *out, int *touches) {
    float best = 0;
    int q[3];
    size_t i;
    *touches = 0;
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                q[0] = p[0] + dx, q[1] = p[1] + dy, q[2] = p[2] + dz;
                if (!index_of(c, q, &i)) continue;
                float dev = c->vol.data[i] - c->liver;
                if (fabsf(dev) > fabsf(best)) best = dev;
                *touches |= out[i] != 0;
            }
    return best;
}

/* A lesion click at p. */
static void add_lesion(const Case *c, const int p[3], unsigned char *out) {
    size_t at;
    index_of(c, p, &at);
    if (out[at]) return; /* a lesion found already (a click refining it changes nothing) */
    int touches;
    float best = box_peak(c, p, out, &touches), contrast = fabsf(best);
    Grow g = {.sign = best > 0 ? 1.0f : -1.0f, .hi = GROW_CEILING * contrast};
    memcpy(g.seed, p, sizeof g.seed);
    if (touches) {
        /* Next to a lesion found: it was drawn too tight. Take in, near the click,
         * what is at least as lesion-like as the clicked voxel. */
        g.lo = g.sign * (c->vol.data[at] - c->liver), g.hi = INFINITY, g.reach = EDIT_MM;
        paint(c, p, &g, 1, out);
        out[at] = 1;
    } else if (contrast < TOLERANCE_HU) {
        ball(c, p, out); /* a lesion this image does not show */
    } else { /* a lesion missed: grow it from the click */
        g.lo = fmaxf(GROW_FRACTION * contrast, GROW_FLOOR_HU), g.reach = REACH_MM;
        paint(c, p, &g, 1, out);
    }
}

static int predicted(const Case *c, size_t i, const void *arg) {
    (void)c;
    return ((const unsigned char *)arg)[i] != 0;
}

/* A background click at p, inside the prediction. */
static void add_background(const Case *c, const int p[3], const Clicks *clicks, int lesions,
                           unsigned char *out) {
    size_t at;
    if (!index_of(c, p, &at) || !out[at]) return;
    size_t count = search(c, at, predicted, out); /* the region clicked */
    float peak = 0;
    for (size_t m = 0; m < count; m++) {
        float dev = c->vol.data[c->queue[m]] - c->liver;
        if (fabsf(dev) > fabsf(peak)) peak = dev;
    }
    int clicked = 0;
    for (int l = 0; l < lesions && !clicked; l++) {
        size_t l_at;
        clicked = index_of(c, clicks->lesion.at[l], &l_at) && c->seen[l_at];
    }
    unsee(c, count);
    Grow g = {.sign = peak >= 0 ? 1.0f : -1.0f, .lo = -INFINITY, .within = out};
    memcpy(g.seed, p, sizeof g.seed);
    float dev = g.sign * (c->vol.data[at] - c->liver);
    if (!clicked && dev >= CORE_FRACTION * fabsf(peak)) {
        /* As lesion-like as the region's core: the whole region is wrong. */
        g.hi = INFINITY, g.reach = INFINITY;
    } else {
        /* At the region's edge: it was drawn too wide. Take out, near the click, what
         * is at most as lesion-like as the clicked voxel. */
        g.hi = dev, g.reach = EDIT_MM;
    }
    paint(c, p, &g, 0, out);
}

/* The prediction for the first k clicks of each kind: lesion clicks first, then the
 * background clicks have the last word. */
static void refine(const Case *c, const Clicks *clicks, int k, unsigned char *out) {
    memcpy(out, c->automatic, c->n);
    int lesions = k < clicks->lesion.count ? k : clicks->lesion.count;
    int backgrounds = k < clicks->background.count ? k : clicks->background.count;
    size_t i;
    for (int j = 0; j < lesions; j++) {
        if (index_of(c, clicks->lesion.at[j], &i)) add_lesion(c, clicks->lesion.at[j], out);
    }
    for (int j = 0; j < backgrounds; j++) {
        add_background(c, clicks->background.at[j], clicks, lesions, out);
    }
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void nap(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int write_prediction(const Case *c, const Clicks *clicks, int k, const char *path,
                            unsigned char *mask) {
    char err[512];
    refine(c, clicks, k, mask);
    if (nifti_write_mask(path, &c->vol, mask, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    return 0;
}

/* TriALS 2025: every click at once; predictions for 0..N clicks of each kind. */
static int run_static(const Case *c, const char *id, const char *click_file, const char *folder,
                      unsigned char *mask) {
    Clicks clicks;
    char err[512], path[2 * PATH_MAX_LEN];
    if (clicks_read(click_file, &clicks, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    int status = 0, n = clicks_count(&clicks);
    for (int k = 0; k <= n && status == 0; k++) {
        snprintf(path, sizeof path, "%s/%s_%d.nii.gz", folder, id, k);
        status = write_prediction(c, &clicks, k, path, mask);
    }
    clicks_free(&clicks);
    if (status == 0) printf("%s: %d predictions for 0..%d clicks (static)\n", id, n + 1, n);
    return status;
}

/* The closed loop: answer request k, then signal; until the case ends. */
static int run_loop(const Case *c, const char *id, const char *inbox, const char *folder,
                    unsigned char *mask) {
    char request[2 * PATH_MAX_LEN], end[2 * PATH_MAX_LEN], path[2 * PATH_MAX_LEN], err[512];
    snprintf(end, sizeof end, "%s/%s/%s_end.json", inbox, id, id);
    if (!exists(inbox)) {
        fprintf(stderr, "error: %s: no click file %s_clicks.json and no closed-loop inbox %s\n",
                id, id, inbox);
        return -1;
    }
    for (int k = 0;; k++) {
        snprintf(request, sizeof request, "%s/%s/%s_%d_clicks.json", inbox, id, id, k);
        long wait_ms = 20;
        while (!exists(request)) {
            if (exists(end)) {
                printf("%s: case ended after %d requests\n", id, k);
                return 0;
            }
            nap(wait_ms);
            wait_ms = wait_ms < 100 ? wait_ms * 3 / 2 : 100;
        }
        Clicks clicks;
        if (clicks_read(request, &clicks, err, sizeof err) != 0) {
            fprintf(stderr, "error: %s\n", err);
            return -1;
        }
        snprintf(path, sizeof path, "%s/%s_%d.nii.gz", folder, id, k);
        int status = write_prediction(c, &clicks, INT_MAX, path, mask);
        clicks_free(&clicks);
        if (status != 0) return -1;
        /* The signal comes once the prediction is closed: Podium reads it at once. */
        snprintf(path, sizeof path, "%s/%s_%d.done", folder, id, k);
        FILE *done = fopen(path, "w");
        if (!done || fclose(done) != 0) {
            fprintf(stderr, "error: cannot write %s\n", path);
            return -1;
        }
        fflush(stdout);
    }
}

static int load_case(Case *c, const char *in_dir, const char *id) {
    char path[PATH_MAX_LEN], err[512];
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/%s_0000.nii.gz", in_dir, id);
    if (!exists(path)) snprintf(path, sizeof path, "%s/%s.nii.gz", in_dir, id);
    if (nifti_read(path, &c->vol, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    for (int axis = 0; axis < 3; axis++) {
        float s;
        memcpy(&s, c->vol.header + 80 + 4 * axis, sizeof s); /* pixdim[1..3] */
        c->spacing[axis] = s > 0 && isfinite(s) ? s : 1.0f;
    }
    c->n = (size_t)c->vol.dim[0] * c->vol.dim[1] * c->vol.dim[2];
    c->automatic = c->n < UINT32_MAX ? malloc(c->n) : NULL;
    c->seen = c->automatic ? calloc(c->n, sizeof *c->seen) : NULL;
    c->queue = c->seen ? malloc(c->n * sizeof *c->queue) : NULL;
    if (!c->queue || segment(&c->vol, c->automatic, &c->liver) < 0) {
        fprintf(stderr, "error: %s: out of memory for %zu voxels\n", id, c->n);
        return -1;
    }
    return 0;
}

static void free_case(Case *c) {
    free(c->automatic), free(c->seen), free(c->queue);
    nifti_free(&c->vol);
}

int interactive_main(const char *csv, const char *in_dir, const char *out_dir, const char *inbox) {
    FILE *list = fopen(csv, "r");
    if (!list) {
        fprintf(stderr, "error: cannot read the case list %s\n", csv);
        return 2;
    }
    char line[1024];
    int failures = 0, cases = 0;
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, ",\r\n")] = '\0'; /* the first column */
        if (!line[0]) continue;
        cases++;
        char folder[PATH_MAX_LEN], click_file[PATH_MAX_LEN];
        snprintf(folder, sizeof folder, "%s/%s", out_dir, line);
        snprintf(click_file, sizeof click_file, "%s/%s_clicks.json", in_dir, line);
        if (mkdir(folder, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "error: cannot create %s\n", folder);
            failures++;
            continue;
        }
        Case c;
        int status = load_case(&c, in_dir, line);
        unsigned char *mask = status == 0 ? malloc(c.n) : NULL;
        if (status == 0 && !mask) status = -1;
        if (status == 0) {
            status = exists(click_file) ? run_static(&c, line, click_file, folder, mask)
                                        : run_loop(&c, line, inbox, folder, mask);
        }
        free(mask);
        free_case(&c);
        failures += status != 0;
        fflush(stdout);
    }
    fclose(list);
    if (cases == 0) fprintf(stderr, "error: no case in %s\n", csv);
    return failures || cases == 0 ? 1 : 0;
}
