/* Minimal NIfTI-1 single-file (.nii / .nii.gz) I/O for the threshold model. */
#ifndef PODIUM_EXAMPLE_NIFTI_H
#define PODIUM_EXAMPLE_NIFTI_H

#include <stddef.h>

#define NIFTI_HEADER_SIZE 348

typedef struct {
    unsigned char header[NIFTI_HEADER_SIZE]; /* kept verbatim to copy the geometry */
    int dim[3];                              /* x (fastest), y, z */
    float *data;                             /* scaled voxel values, x fastest */
} Volume;

/* Reads a 3-D volume; on failure returns -1 and writes why into err. */
int nifti_read(const char *path, Volume *vol, char *err, size_t errlen);

/* Writes mask (one byte per voxel of `like`) as uint8 with like's geometry. */
int nifti_write_mask(const char *path, const Volume *like, const unsigned char *mask, char *err,
                     size_t errlen);

void nifti_free(Volume *vol);

#endif
