/* Podium's example participant container: a liver-lesion "model" in a few hundred lines of C.
 *
 * For every /input/<case>.nii.gz it writes /output/<case>.nii.gz (uint8, lesion = 1,
 * the input's geometry). Method, chosen to work on either CT phase without being told
 * which one it sees:
 *   1. 3x3x3 mean filter (the noise is what a threshold trips on);
 *   2. the liver's intensity L = the mode of the soft-tissue histogram;
 *   3. liver = the largest 6-connected region within L +/- TOLERANCE_HU;
 *   4. lesion candidates = what the liver encloses, in 3-D or within an axial slice
 *      (so lesions at the liver's surface count): anything darker or brighter than liver;
 *   5. candidates under MIN_LESION_VOXELS are noise; the rest are cut at EDGE_FRACTION
 *      of their own contrast, undoing the blur of step 1.
 * Usage: predict [INPUT_DIR [OUTPUT_DIR]]   (defaults /input and /output)
 *        predict CSV INPUT_DIR OUTPUT_DIR [INBOX]   the interactive mode (interactive.c)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interactive.h"
#include "model.h"
#include "nifti.h"

#define HIST_LO (-20)
#define HIST_HI 300

/* Three 3-tap means, one per axis, edges clamped: a 3x3x3 box filter in O(n). */
static void box_filter(float *v, float *tmp, const int d[3]) {
    size_t stride[3] = {1, (size_t)d[0], (size_t)d[0] * d[1]};
    size_t n = (size_t)d[0] * d[1] * d[2];
    for (int axis = 0; axis < 3; axis++) {
        size_t s = stride[axis];
        for (size_t i = 0; i < n; i++) {
            int c = (int)((i / s) % (size_t)d[axis]);
            float lo = c > 0 ? v[i - s] : v[i];
            float hi = c < d[axis] - 1 ? v[i + s] : v[i];
            tmp[i] = (lo + v[i] + hi) / 3.0f;
        }
        memcpy(v, tmp, n * sizeof(float));
    }
}

static float liver_intensity(const float *v, size_t n) {
    static unsigned long hist[HIST_HI - HIST_LO];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        if (v[i] >= HIST_LO && v[i] < HIST_HI) hist[(int)(v[i] - HIST_LO)]++;
    }
    int best = 0;
    unsigned long best_count = 0;
    for (int b = 2; b < HIST_HI - HIST_LO - 2; b++) {
        unsigned long c = hist[b - 2] + hist[b - 1] + hist[b] + hist[b + 1] + hist[b + 2];
        if (c > best_count) {
            best_count = c;
            best = b;
        }
    }
    return (float)(best + HIST_LO) + 0.5f;
}

/* Labels the 6-connected components of the voxels where in[i] == value; returns
 * their count and, in *sizes (malloc'ed, index = label), their voxel counts. */
static uint32_t components(const unsigned char *in, unsigned char value, const int d[3],
                           uint32_t *label, uint32_t *queue, size_t **sizes) {
    size_t n = (size_t)d[0] * d[1] * d[2];
    size_t cap = 64;
    uint32_t count = 0;
    *sizes = calloc(cap, sizeof(size_t));
    memset(label, 0, n * sizeof(uint32_t));
    for (size_t seed = 0; seed < n; seed++) {
        if (in[seed] != value || label[seed]) continue;
        if (++count >= cap) {
            cap *= 2;
            *sizes = realloc(*sizes, cap * sizeof(size_t));
        }
        size_t head = 0, tail = 0;
        queue[tail++] = (uint32_t)seed;
        label[seed] = count;
        while (head < tail) {
            size_t i = queue[head++];
            int x = (int)(i % (size_t)d[0]), y = (int)((i / d[0]) % (size_t)d[1]);
            int z = (int)(i / ((size_t)d[0] * d[1]));
            size_t nb[6];
            int k = 0;
            if (x > 0) nb[k++] = i - 1;
            if (x < d[0] - 1) nb[k++] = i + 1;
            if (y > 0) nb[k++] = i - d[0];
            if (y < d[1] - 1) nb[k++] = i + d[0];
            if (z > 0) nb[k++] = i - (size_t)d[0] * d[1];
            if (z < d[2] - 1) nb[k++] = i + (size_t)d[0] * d[1];
            for (int j = 0; j < k; j++) {
                if (in[nb[j]] == value && !label[nb[j]]) {
                    label[nb[j]] = count;
                    queue[tail++] = (uint32_t)nb[j];
                }
            }
        }
        (*sizes)[count] = tail;
    }
    return count;
}

/* Sets cavity[i] for the voxels of every component of {liver == 0} that does not
 * reach the edge of the grid d (a slice when d[2] == 1). */
static void mark_cavities(const unsigned char *liver, const int d[3], uint32_t *label,
                          uint32_t *queue, unsigned char *cavity) {
    size_t n = (size_t)d[0] * d[1] * d[2], *sizes;
    uint32_t k = components(liver, 0, d, label, queue, &sizes);
    unsigned char *open = calloc((size_t)k + 1, 1);
    for (size_t i = 0; i < n; i++) {
        int x = (int)(i % (size_t)d[0]), y = (int)((i / d[0]) % (size_t)d[1]);
        int z = (int)(i / ((size_t)d[0] * d[1]));
        int edge = x == 0 || y == 0 || x == d[0] - 1 || y == d[1] - 1 ||
                   (d[2] > 1 && (z == 0 || z == d[2] - 1));
        if (label[i] && edge) open[label[i]] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (label[i] && !open[label[i]]) cavity[i] = 1;
    }
    free(open), free(sizes);
}

/* Fills mask with the lesions of one volume; returns how many, or -1 without memory. */
int segment(Volume *vol, unsigned char *mask, float *liver_intensity_out) {
    const int *d = vol->dim;
    size_t n = (size_t)d[0] * d[1] * d[2];
    float *tmp = malloc(n * sizeof(float));
    uint32_t *label = malloc(n * sizeof(uint32_t));
    uint32_t *queue = malloc(n * sizeof(uint32_t));
    if (!tmp || !label || !queue) {
        free(tmp), free(label), free(queue);
        return -1;
    }
    box_filter(vol->data, tmp, d);
    float L = liver_intensity(vol->data, n);
    *liver_intensity_out = L;
    for (size_t i = 0; i < n; i++) {
        float dev = vol->data[i] - L;
        mask[i] = dev <= TOLERANCE_HU && dev >= -TOLERANCE_HU;
    }
    size_t *sizes;
    uint32_t liver = 0, count = components(mask, 1, d, label, queue, &sizes);
    for (uint32_t c = 1; c <= count; c++) {
        if (!liver || sizes[c] > sizes[liver]) liver = c;
    }
    free(sizes);
    for (size_t i = 0; i < n; i++) mask[i] = liver && label[i] == liver;

    /* Cavities: components of the liver's complement that never touch the border, in
     * 3-D, and slice by slice so that lesions at the liver's surface count too. */
    unsigned char *cavity = calloc(n, 1);
    if (!cavity) {
        free(tmp), free(label), free(queue);
        return -1;
    }
    mark_cavities(mask, d, label, queue, cavity);
    size_t slice = (size_t)d[0] * d[1];
    int slice_dim[3] = {d[0], d[1], 1};
    for (int z = 0; z < d[2]; z++) {
        mark_cavities(mask + z * slice, slice_dim, label, queue, cavity + z * slice);
    }

    /* The filters blur each lesion's edge outwards; cut every cavity at EDGE_FRACTION
     * of its own contrast, which puts the edge back where it was before the blur. */
    uint32_t k = components(cavity, 1, d, label, queue, &sizes);
    float *peak = calloc((size_t)k + 1, sizeof(float));
    int lesions = 0;
    for (uint32_t c = 1; c <= k; c++) lesions += sizes[c] >= MIN_LESION_VOXELS;
    for (size_t i = 0; i < n; i++) {
        float dev = vol->data[i] > L ? vol->data[i] - L : L - vol->data[i];
        if (label[i] && dev > peak[label[i]]) peak[label[i]] = dev;
    }
    for (size_t i = 0; i < n; i++) {
        float dev = vol->data[i] > L ? vol->data[i] - L : L - vol->data[i];
        mask[i] = label[i] && sizes[label[i]] >= MIN_LESION_VOXELS &&
                  dev >= EDGE_FRACTION * peak[label[i]];
    }
    free(peak), free(cavity), free(sizes), free(tmp), free(label), free(queue);
    return lesions;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t case_id_length(const char *name) {
    size_t len = strlen(name);
    if (len > 7 && strcmp(name + len - 7, ".nii.gz") == 0) return len - 7;
    if (len > 4 && strcmp(name + len - 4, ".nii") == 0) return len - 4;
    return 0;
}

int main(int argc, char **argv) {
    /* The TriALS contract (CSV INPUT_DIR OUTPUT_DIR) is the interactive mode. */
    if (argc == 4 || argc == 5) {
        return interactive_main(argv[1], argv[2], argv[3], argc == 5 ? argv[4] : "/clicks");
    }
    const char *in_dir = argc > 1 ? argv[1] : "/input";
    const char *out_dir = argc > 2 ? argv[2] : "/output";
    DIR *dir = opendir(in_dir);
    if (!dir) {
        fprintf(stderr, "error: cannot read the input folder %s\n", in_dir);
        return 2;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' || !case_id_length(entry->d_name)) continue;
        names = realloc(names, (count + 1) * sizeof *names);
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    if (count == 0) {
        fprintf(stderr, "error: no .nii.gz or .nii images in %s\n", in_dir);
        return 2;
    }
    qsort(names, count, sizeof *names, by_name);
    int failures = 0;
    for (size_t c = 0; c < count; c++) {
        char in_path[4096], out_path[4096], err[512];
        snprintf(in_path, sizeof in_path, "%s/%s", in_dir, names[c]);
        snprintf(out_path, sizeof out_path, "%s/%.*s.nii.gz", out_dir,
                 (int)case_id_length(names[c]), names[c]);
        Volume vol;
        if (nifti_read(in_path, &vol, err, sizeof err) != 0) {
            fprintf(stderr, "error: %s\n", err);
            failures++;
            continue;
        }
        size_t n = (size_t)vol.dim[0] * vol.dim[1] * vol.dim[2];
        /* Component labels and queues hold voxel indices in 32 bits. */
        unsigned char *mask = n < UINT32_MAX ? malloc(n) : NULL;
        float liver;
        int lesions = mask ? segment(&vol, mask, &liver) : -1;
        if (lesions < 0) {
            fprintf(stderr, "error: %s: out of memory for %zu voxels\n", names[c], n);
            failures++;
        } else if (nifti_write_mask(out_path, &vol, mask, err, sizeof err) != 0) {
            fprintf(stderr, "error: %s\n", err);
            failures++;
        } else {
            printf("[%zu/%zu] %s: %d lesion(s) -> %s\n", c + 1, count, names[c], lesions, out_path);
            fflush(stdout);
        }
        free(mask);
        nifti_free(&vol);
        free(names[c]);
    }
    free(names);
    return failures ? 1 : 0;
}
