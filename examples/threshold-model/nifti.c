/* Minimal NIfTI-1 single-file (.nii / .nii.gz) reader and writer over zlib.
 *
 * Reads 3-D volumes stored as uint8, int16, uint16, int32, float32 or float64
 * (little-endian, as SimpleITK, nibabel and every scanner converter write them)
 * into floats, applying scl_slope/scl_inter when set. Writes a uint8 mask that
 * keeps the source header: dims, pixdim, qform and sform, so the prediction has
 * exactly the input's geometry.
 */
#include "nifti.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
    OFF_DIM = 40,
    OFF_DATATYPE = 70,
    OFF_BITPIX = 72,
    OFF_VOX_OFFSET = 108,
    OFF_SCL_SLOPE = 112,
    OFF_SCL_INTER = 116,
    OFF_CAL_MAX = 124,
    OFF_CAL_MIN = 128,
    OFF_MAGIC = 344,
};

static int16_t get_i16(const unsigned char *h, int off) {
    int16_t v;
    memcpy(&v, h + off, sizeof v);
    return v;
}

static float get_f32(const unsigned char *h, int off) {
    float v;
    memcpy(&v, h + off, sizeof v);
    return v;
}

static void put_i16(unsigned char *h, int off, int16_t v) { memcpy(h + off, &v, sizeof v); }
static void put_f32(unsigned char *h, int off, float v) { memcpy(h + off, &v, sizeof v); }

static int read_exact(gzFile f, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        /* gzread takes an unsigned int: read large volumes in 1 GiB pieces. */
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int nifti_read(const char *path, Volume *vol, char *err, size_t errlen) {
    memset(vol, 0, sizeof *vol);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return -1;
    }
    unsigned char *h = vol->header;
    if (read_exact(f, h, NIFTI_HEADER_SIZE) != 0) {
        snprintf(err, errlen, "%s: shorter than a NIfTI-1 header", path);
        gzclose(f);
        return -1;
    }
    int32_t sizeof_hdr;
    memcpy(&sizeof_hdr, h, sizeof sizeof_hdr);
    if (sizeof_hdr != NIFTI_HEADER_SIZE || memcmp(h + OFF_MAGIC, "n+1", 4) != 0) {
        snprintf(err, errlen,
                 "%s: not a little-endian single-file NIfTI-1 image (sizeof_hdr %d, magic %.3s)",
                 path, (int)sizeof_hdr, (const char *)(h + OFF_MAGIC));
        gzclose(f);
        return -1;
    }
    int ndim = get_i16(h, OFF_DIM);
    if (ndim < 3 || ndim > 7) {
        snprintf(err, errlen, "%s: %d dimensions, expected a 3-D volume", path, ndim);
        gzclose(f);
        return -1;
    }
    for (int i = 0; i < 3; i++) vol->dim[i] = get_i16(h, OFF_DIM + 2 * (i + 1));
    for (int i = 3; i < ndim; i++) {
        if (get_i16(h, OFF_DIM + 2 * (i + 1)) > 1) {
            snprintf(err, errlen, "%s: a 4-D series, expected one 3-D volume", path);
            gzclose(f);
            return -1;
        }
    }
    if (vol->dim[0] < 1 || vol->dim[1] < 1 || vol->dim[2] < 1) {
        snprintf(err, errlen, "%s: empty volume", path);
        gzclose(f);
        return -1;
    }
    int datatype = get_i16(h, OFF_DATATYPE);
    size_t bytes;
    switch (datatype) {
    case 2: bytes = 1; break;   /* uint8 */
    case 4: bytes = 2; break;   /* int16 */
    case 8: bytes = 4; break;   /* int32 */
    case 16: bytes = 4; break;  /* float32 */
    case 64: bytes = 8; break;  /* float64 */
    case 512: bytes = 2; break; /* uint16 */
    default:
        snprintf(err, errlen, "%s: unsupported NIfTI datatype %d", path, datatype);
        gzclose(f);
        return -1;
    }
    /* Skip the extensions (vox_offset may be anywhere from 352 on). */
    long offset = (long)get_f32(h, OFF_VOX_OFFSET);
    if (offset < NIFTI_HEADER_SIZE + 4) offset = NIFTI_HEADER_SIZE + 4;
    if (gzseek(f, offset, SEEK_SET) != offset) {
        snprintf(err, errlen, "%s: truncated before its data (vox_offset %ld)", path, offset);
        gzclose(f);
        return -1;
    }
    size_t n = (size_t)vol->dim[0] * vol->dim[1] * vol->dim[2];
    unsigned char *raw = malloc(n * bytes);
    vol->data = malloc(n * sizeof(float));
    if (!raw || !vol->data) {
        snprintf(err, errlen, "%s: out of memory for %zu voxels", path, n);
        free(raw);
        nifti_free(vol);
        gzclose(f);
        return -1;
    }
    if (read_exact(f, raw, n * bytes) != 0) {
        snprintf(err, errlen, "%s: truncated data (expected %zu voxels)", path, n);
        free(raw);
        nifti_free(vol);
        gzclose(f);
        return -1;
    }
    gzclose(f);
    float slope = get_f32(h, OFF_SCL_SLOPE), inter = get_f32(h, OFF_SCL_INTER);
    if (slope == 0.0f) { /* 0 means "no scaling" in NIfTI-1 */
        slope = 1.0f;
        inter = 0.0f;
    }
    for (size_t i = 0; i < n; i++) {
        double v;
        const unsigned char *p = raw + i * bytes;
        switch (datatype) {
        case 2: v = *p; break;
        case 4: { int16_t t; memcpy(&t, p, 2); v = t; break; }
        case 8: { int32_t t; memcpy(&t, p, 4); v = t; break; }
        case 16: { float t; memcpy(&t, p, 4); v = t; break; }
        case 64: { double t; memcpy(&t, p, 8); v = t; break; }
        default: { uint16_t t; memcpy(&t, p, 2); v = t; break; }
        }
        vol->data[i] = (float)(v * slope + inter);
    }
    free(raw);
    return 0;
}

int nifti_write_mask(const char *path, const Volume *like, const unsigned char *mask, char *err,
                     size_t errlen) {
    unsigned char h[NIFTI_HEADER_SIZE];
    memcpy(h, like->header, NIFTI_HEADER_SIZE);
    put_i16(h, OFF_DIM, 3);
    for (int i = 4; i < 8; i++) put_i16(h, OFF_DIM + 2 * i, 1);
    put_i16(h, OFF_DATATYPE, 2);
    put_i16(h, OFF_BITPIX, 8);
    put_f32(h, OFF_VOX_OFFSET, (float)(NIFTI_HEADER_SIZE + 4));
    put_f32(h, OFF_SCL_SLOPE, 1.0f);
    put_f32(h, OFF_SCL_INTER, 0.0f);
    put_f32(h, OFF_CAL_MAX, 1.0f);
    put_f32(h, OFF_CAL_MIN, 0.0f);
    static const unsigned char no_extensions[4] = {0, 0, 0, 0};
    size_t n = (size_t)like->dim[0] * like->dim[1] * like->dim[2];

    gzFile f = gzopen(path, "wb6");
    if (!f) {
        snprintf(err, errlen, "cannot create %s", path);
        return -1;
    }
    int ok = gzwrite(f, h, NIFTI_HEADER_SIZE) == NIFTI_HEADER_SIZE &&
             gzwrite(f, no_extensions, 4) == 4;
    for (size_t done = 0; ok && done < n;) {
        unsigned chunk = n - done > (1u << 30) ? (1u << 30) : (unsigned)(n - done);
        ok = gzwrite(f, mask + done, chunk) == (int)chunk;
        done += chunk;
    }
    if (gzclose(f) != Z_OK || !ok) {
        snprintf(err, errlen, "could not write %s (disk full?)", path);
        return -1;
    }
    return 0;
}

void nifti_free(Volume *vol) {
    free(vol->data);
    vol->data = NULL;
}
