/*
 * nn.h - int8 graph runner and kernel interface (portable C11, no heap).
 *
 * The exporter (edgekws export c) knows every shape, so it emits one
 * nn_layer_t per TFLite operator, with all quantization arithmetic already
 * turned into integers, arena offsets planned on the host, and a pointer to
 * the kernel each layer uses. The runner only walks that table.
 *
 * Kernel backends are siblings with identical signatures, one public
 * function per file, named op + data type + backend:
 *   src/nn/ref/nn_conv2d_s8.c     -> nn_conv2d_s8_ref     (portable, bit-exact reference)
 *   src/nn/simd/nn_conv2d_s8.c    -> nn_conv2d_s8_simd    (future: DSP extension)
 *   src/nn/sparse/nn_conv2d_s8.c  -> nn_conv2d_s8_sparse  (future: skip-zero, compressed)
 * The layer table stores the function pointer, so an image links only the
 * kernels its model uses, and layers may mix backends.
 */
#ifndef EDGEKWS_NN_H
#define EDGEKWS_NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes returned by kernels and nn_invoke ---- */
#define NN_OK 0
#define NN_ERR_ARG (-1)      /* bad pointer / shape in the layer table */
#define NN_ERR_UNSUPPORTED (-2)

/* ---- small parameter structs (CMSIS-NN style) ---- */
typedef struct {
    int32_t n, h, w, c;  /* NHWC; for a fully connected filter: n = out features, c = in features */
} nn_dims_t;

typedef struct {
    int32_t h, w;
} nn_hw_t;

/* Per-output-channel requantization: real ~= multiplier * 2^(shift - 31). */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} nn_quant_t;

typedef struct {
    int32_t input_offset;   /* -input zero point */
    int32_t output_offset;  /* +output zero point */
    nn_hw_t stride;
    nn_hw_t padding;        /* top / left padding (TFLite: total/2) */
    nn_hw_t dilation;
    int32_t depth_multiplier; /* depthwise only */
    int32_t act_min, act_max;
} nn_conv_params_t;

typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
} nn_fc_params_t;

typedef struct {
    nn_hw_t stride;
    nn_hw_t padding;
    nn_hw_t filter;
    int32_t act_min, act_max;
} nn_pool_params_t;

typedef struct {
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
    int32_t act_min, act_max;
} nn_add_params_t;

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} nn_softmax_params_t;

/* Per-call context: scratch memory planned inside the arena by the host, and
 * backend-specific constant data (e.g. compressed indices of a sparse kernel). */
typedef struct {
    void *scratch;
    uint32_t scratch_size;
    const void *aux;
    uint32_t aux_size;
} nn_context_t;

/* ---- kernel signatures: every backend implements exactly these ---- */
typedef int (*nn_conv_fn)(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *filter_dims, const int8_t *filter,
                          const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
typedef int (*nn_fc_fn)(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                        const nn_dims_t *in_dims, const int8_t *in,
                        const nn_dims_t *filter_dims, const int8_t *filter,
                        const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
typedef int (*nn_pool_fn)(const nn_context_t *ctx, const nn_pool_params_t *p,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *out_dims, int8_t *out);
typedef int (*nn_add_fn)(const nn_context_t *ctx, const nn_add_params_t *p,
                         const nn_dims_t *in1_dims, const int8_t *in1,
                         const nn_dims_t *in2_dims, const int8_t *in2,
                         const nn_dims_t *out_dims, int8_t *out);
typedef int (*nn_softmax_fn)(const nn_context_t *ctx, const nn_softmax_params_t *p,
                             int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/* ---- ref backend (src/nn/ref/) ---- */
int nn_conv2d_s8_ref(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                     const nn_dims_t *in_dims, const int8_t *in,
                     const nn_dims_t *filter_dims, const int8_t *filter,
                     const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_depthwise_conv2d_s8_ref(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                               const nn_dims_t *in_dims, const int8_t *in,
                               const nn_dims_t *filter_dims, const int8_t *filter,
                               const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_fully_connected_s8_ref(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                              const nn_dims_t *in_dims, const int8_t *in,
                              const nn_dims_t *filter_dims, const int8_t *filter,
                              const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_avgpool_s8_ref(const nn_context_t *ctx, const nn_pool_params_t *p,
                      const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out);
int nn_maxpool_s8_ref(const nn_context_t *ctx, const nn_pool_params_t *p,
                      const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out);
int nn_add_s8_ref(const nn_context_t *ctx, const nn_add_params_t *p,
                  const nn_dims_t *in1_dims, const int8_t *in1,
                  const nn_dims_t *in2_dims, const int8_t *in2,
                  const nn_dims_t *out_dims, int8_t *out);
int nn_softmax_s8_ref(const nn_context_t *ctx, const nn_softmax_params_t *p,
                      int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/* ---- the layer table ---- */
typedef enum {
    NN_OP_CONV_2D = 0,
    NN_OP_DEPTHWISE_CONV_2D = 1,
    NN_OP_FULLY_CONNECTED = 2,
    NN_OP_AVERAGE_POOL_2D = 3,
    NN_OP_MAX_POOL_2D = 4,
    NN_OP_ADD = 5,
    NN_OP_SOFTMAX = 6,
    NN_OP_RESHAPE = 7 /* no kernel: the planner aliases output and input */
} nn_op_t;

typedef struct nn_layer {
    const char *name;     /* "conv2d_0" (same as bundle.json layers[i].name) */
    const char *op_name;  /* "CONV_2D" (TFLite builtin name) */
    const char *backend;  /* "ref", later "simd", "sparse", ... */
    nn_op_t op;
    uint32_t in1_offset;  /* arena byte offsets of the activations */
    uint32_t in2_offset;  /* ADD only */
    uint32_t out_offset;
    nn_dims_t in1_dims, in2_dims, filter_dims, out_dims;
    union {
        nn_conv_params_t conv;
        nn_fc_params_t fc;
        nn_pool_params_t pool;
        nn_add_params_t add;
        nn_softmax_params_t softmax;
    } params;
    const int8_t *weights;  /* NULL when the layer has none; layout may be backend-specific */
    const int32_t *bias;    /* NULL when absent */
    nn_quant_t quant;       /* per output channel (per-tensor values are repeated) */
    uint32_t scratch_offset, scratch_size; /* arena scratch for this layer (0 size: none) */
    const void *aux;        /* backend-specific constant data, e.g. sparse indices */
    uint32_t aux_size;
    union {
        nn_conv_fn conv;    /* CONV_2D, DEPTHWISE_CONV_2D */
        nn_fc_fn fc;
        nn_pool_fn pool;
        nn_add_fn add;
        nn_softmax_fn softmax;
    } kernel;               /* NULL for RESHAPE */
} nn_layer_t;

typedef struct nn_model {
    const char *name;
    const char *bundle_hash;
    uint8_t *arena;
    uint32_t arena_size;
    uint32_t input_offset, input_size;
    uint32_t output_offset, output_size;
    uint32_t num_layers;
    const nn_layer_t *layers;
} nn_model_t;

typedef uint32_t (*nn_counter_fn)(void);

/* ---- the runner (src/nn/runner.c) ---- */
int8_t *nn_input(const nn_model_t *m);         /* input tensor inside the arena */
const int8_t *nn_output(const nn_model_t *m);  /* valid after nn_invoke() */
uint32_t nn_input_size(const nn_model_t *m);
uint32_t nn_output_size(const nn_model_t *m);
uint32_t nn_num_layers(const nn_model_t *m);
const char *nn_layer_name(const nn_model_t *m, uint32_t i);    /* NULL if i is out of range */
const char *nn_layer_op(const nn_model_t *m, uint32_t i);
const char *nn_layer_backend(const nn_model_t *m, uint32_t i);
/* Run every layer. layer_ticks: NULL, or num_layers entries receiving counter()
 * deltas per layer (counter may be NULL, then ticks are 0). Returns NN_OK (0) on success. */
int nn_invoke(const nn_model_t *m, nn_counter_fn counter, uint32_t *layer_ticks);

/* ---- layer-by-layer check (self-test, protocol CMD_LAYER_CHECK) ----
 * The runner does not link a checksum of its own: the caller passes the
 * project's one CRC-32 (proto_crc32, src/protocol/crc32.c, = zlib.crc32), so
 * the nn module stays free of dependencies and the host reproduces the value
 * with zlib.crc32 over TFLite Micro's preserved tensors. */
typedef uint32_t (*nn_crc_fn)(uint32_t crc, const uint8_t *data, size_t len);

typedef struct {
    nn_crc_fn crc;          /* required */
    uint32_t *layer_crc;    /* NULL, or num_layers entries: crc(0, output tensor of layer i) */
    int8_t *logits;         /* NULL, or nn_logits_size() bytes: the pre-softmax logits */
    uint32_t logits_size;   /* capacity of logits */
} nn_check_t;

/* The logits: the input tensor of a final SOFTMAX layer, else the last layer's output. */
uint32_t nn_logits_size(const nn_model_t *m);
uint32_t nn_layer_output_size(const nn_model_t *m, uint32_t i); /* bytes of layer i's output tensor */
/* nn_invoke plus, when check != NULL, the CRC-32 of every layer's output tensor and a copy of the
 * logits, both taken after the layer's second counter() read (in no layer's count). check == NULL is
 * nn_invoke. The figures to report come from a plain nn_invoke, whose loop has no checking code at
 * all (the self-test and the server time that one and check a second run of the same input). */
int nn_invoke_checked(const nn_model_t *m, nn_counter_fn counter, uint32_t *layer_ticks, const nn_check_t *check);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_H */
