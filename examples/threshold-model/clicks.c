/* A reader for TriALS click files: just enough JSON for two lists of integer triples. */
#include "clicks.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A click file holds at most a few hundred clicks; anything larger is not one. */
#define MAX_FILE_BYTES (1 << 20)

static const char *skip_space(const char *p) {
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

/* Parses [[x, y, z], ...] at p into list; returns the position after it, or NULL. */
static const char *parse_list(const char *p, PointList *list) {
    p = skip_space(p);
    if (*p++ != '[') return NULL;
    int cap = 0;
    for (p = skip_space(p); *p != ']'; p = skip_space(p)) {
        if (list->count > 0) {
            if (*p++ != ',') return NULL;
            p = skip_space(p);
        }
        if (*p++ != '[') return NULL;
        int point[3];
        for (int axis = 0; axis < 3; axis++) {
            char *end;
            double value = strtod(skip_space(p), &end);
            if (end == skip_space(p) || !isfinite(value) || value < 0 || value > 1e9) return NULL;
            point[axis] = (int)lround(value);
            p = skip_space(end);
            if (*p++ != (axis < 2 ? ',' : ']')) return NULL;
        }
        if (list->count == cap) {
            cap = cap ? 2 * cap : 16;
            void *grown = realloc(list->at, (size_t)cap * sizeof *list->at);
            if (!grown) return NULL;
            list->at = grown;
        }
        memcpy(list->at[list->count++], point, sizeof point);
    }
    return p + 1;
}

/* The list under "key" of the object in text (an empty list when the key is absent). */
static int find_list(const char *text, const char *key, PointList *list) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(text, quoted);
    if (!p) return 0;
    p = skip_space(p + strlen(quoted));
    if (*p++ != ':') return -1;
    return parse_list(p, list) ? 0 : -1;
}

int clicks_read(const char *path, Clicks *clicks, char *err, size_t errlen) {
    memset(clicks, 0, sizeof *clicks);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return -1;
    }
    char *text = malloc(MAX_FILE_BYTES + 1);
    size_t n = text ? fread(text, 1, MAX_FILE_BYTES + 1, f) : 0;
    fclose(f);
    if (!text || n > MAX_FILE_BYTES) {
        free(text);
        snprintf(err, errlen, "%s: not a click file (over %d bytes)", path, MAX_FILE_BYTES);
        return -1;
    }
    text[n] = '\0';
    int bad = find_list(text, "lesion", &clicks->lesion) ||
              find_list(text, "background", &clicks->background);
    free(text);
    if (bad) {
        clicks_free(clicks);
        snprintf(err, errlen, "%s: expected {\"lesion\": [[x, y, z], ...], \"background\": [...]}",
                 path);
        return -1;
    }
    return 0;
}

int clicks_count(const Clicks *clicks) {
    return clicks->lesion.count > clicks->background.count ? clicks->lesion.count
                                                           : clicks->background.count;
}

void clicks_free(Clicks *clicks) {
    free(clicks->lesion.at);
    free(clicks->background.at);
    memset(clicks, 0, sizeof *clicks);
}
