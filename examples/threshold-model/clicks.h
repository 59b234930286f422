/* TriALS click files: {"lesion": [[x, y, z], ...], "background": [[x, y, z], ...]}.
 *
 * Voxel indices, 0-based, in the image file's own axis order (x fastest), as
 * Podium's static click files and closed-loop requests write them.
 */
#ifndef PODIUM_EXAMPLE_CLICKS_H
#define PODIUM_EXAMPLE_CLICKS_H

#include <stddef.h>

typedef struct {
    int count;
    int (*at)[3]; /* x, y, z */
} PointList;

typedef struct {
    PointList lesion;
    PointList background;
} Clicks;

/* Reads a click file; on failure returns -1 and writes why into err. A missing
 * key is an empty list. */
int clicks_read(const char *path, Clicks *clicks, char *err, size_t errlen);

/* The larger of the two lists' lengths: a static file's click count N. */
int clicks_count(const Clicks *clicks);

void clicks_free(Clicks *clicks);

#endif
