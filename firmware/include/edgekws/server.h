/*
 * server.h - seams of the device server (src/app/server.c) for command ranges
 * served by other modules, so they plug in without editing the server.
 *
 * Streaming keyword spotting (issue 7) owns the command range 0x20..0x2F
 * (CMD_STREAM_FIRST..CMD_STREAM_LAST in protocol.h). Build with
 * EDGEKWS_HAS_STREAM=1 and provide app_stream_command(); the server then
 * forwards every frame in that range to it and sends its answer as the
 * response (status byte first, then the body it wrote). Detections go out
 * asynchronously with server_send_event(EVT_DETECTION, record, len).
 */
#ifndef EDGEKWS_SERVER_H
#define EDGEKWS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "edgekws/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Handle one request of the streaming range. payload/len: the request body
 * (len <= PROTO_MAX_PAYLOAD, already CRC-checked). Write at most cap bytes of
 * response body into out and set *out_len. Return the status for the reply. */
proto_status_t app_stream_command(uint8_t cmd, const uint8_t *payload, uint16_t len,
                                  uint8_t *out, size_t cap, size_t *out_len);

/* Called by the server between requests while no byte is waiting (streaming
 * work that is not triggered by a request); may be a no-op. */
void app_stream_poll(void);

/* Send an unsolicited frame (EVT_* id, sequence 0). len <= PROTO_MAX_PAYLOAD. */
void server_send_event(uint8_t evt, const uint8_t *payload, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_SERVER_H */
