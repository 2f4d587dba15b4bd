// Appends a transaction marker (a control record) to partition 0 of a topic with one raw Produce request,
// because no client will: librdkafka's mock cluster accepts transactional producers but writes no markers,
// and kafkajs cannot initialise a transactional producer against it (DESIGN §8). Real Kafka ends every
// foreign transaction with such a marker; these tests need one to exist on the mock too.

import { connect } from 'node:net';

/**
 * Control record batch (magic 2), as Kafka's DefaultRecordBatch lays it out:
 *   baseOffset int64 · batchLength int32 · partitionLeaderEpoch int32 · magic int8 = 2 · crc uint32 (CRC-32C of
 *   everything after it) · attributes int16 (0x10 transactional | 0x20 control) · lastOffsetDelta int32 ·
 *   firstTimestamp int64 · maxTimestamp int64 · producerId int64 · producerEpoch int16 · baseSequence int32 ·
 *   records: count int32, then one record:
 *     length varint · attributes int8 · timestampDelta varint · offsetDelta varint · keyLength varint ·
 *     key (version int16 = 0, type int16: 0 abort, 1 commit) · valueLength varint ·
 *     value (version int16 = 0, coordinatorEpoch int32) · headerCount varint
 */
function controlBatch(type: 'abort' | 'commit', timestampMs: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'commit' ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  const body = Buffer.concat([Buffer.from([0]), varint(0), varint(0), varint(key.length), key, varint(value.length), value, varint(0)]);
  const header = Buffer.alloc(2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let at = header.writeInt16BE(0x30, 0);
  at = header.writeInt32BE(0, at);
  at = header.writeBigInt64BE(BigInt(timestampMs), at);
  at = header.writeBigInt64BE(BigInt(timestampMs), at);
  at = header.writeBigInt64BE(-1n, at); // no producer id: the mock checks none, and readers only need the control flag
  at = header.writeInt16BE(-1, at);
  at = header.writeInt32BE(-1, at);
  header.writeInt32BE(1, at);
  const checked = Buffer.concat([header, varint(body.length), body]);
  const prefix = Buffer.alloc(8 + 4 + 4 + 1 + 4);
  prefix.writeInt32BE(4 + 1 + 4 + checked.length, 8);
  prefix.writeInt8(2, 16);
  prefix.writeUInt32BE(crc32c(checked), 17);
  return Buffer.concat([prefix, checked]);
}

/**
 * ProduceRequest v3, one topic, partition 0:
 *   size int32 · apiKey int16 = 0 · apiVersion int16 = 3 · correlationId int32 · clientId string ·
 *   transactionalId nullable string · acks int16 · timeoutMs int32 · [topic string · [partition int32 · records bytes]]
 */
function produceRequest(topic: string, batch: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt16BE(3, 2);
  head.writeInt32BE(1, 4);
  const settings = Buffer.alloc(12);
  settings.writeInt16BE(-1, 0); // transactional id: null
  settings.writeInt16BE(-1, 2); // acks=all
  settings.writeInt32BE(5_000, 4);
  settings.writeInt32BE(1, 8); // one topic
  const partition = Buffer.alloc(12);
  partition.writeInt32BE(1, 0);
  partition.writeInt32BE(0, 4);
  partition.writeInt32BE(batch.length, 8);
  const message = Buffer.concat([head, kafkaString('strata-tests'), settings, kafkaString(topic), partition, batch]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(message.length);
  return Buffer.concat([size, message]);
}

/**
 * Sends the marker to `broker` (the partition's leader) and returns its offset. ProduceResponse v3:
 *   size int32 · correlationId int32 · [topic string · [partition int32 · errorCode int16 · baseOffset int64 · …]]
 */
export async function appendControlRecord(broker: string, topic: string, type: 'abort' | 'commit'): Promise<number> {
  const [host, port] = broker.split(':');
  const socket = connect(Number(port), host);
  try {
    const response = await new Promise<Buffer>((resolve, reject) => {
      let received = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) resolve(received);
      });
      socket.write(produceRequest(topic, controlBatch(type, Date.now())));
    });
    const topicLength = response.readInt16BE(12);
    const at = 14 + topicLength + 4 + 4; // past the topic name, the partition count and the partition id
    const errorCode = response.readInt16BE(at);
    if (errorCode !== 0) throw new Error(`producing a control record to ${topic} failed with Kafka error ${errorCode}`);
    return Number(response.readBigInt64BE(at + 2));
  } finally {
    socket.destroy();
  }
}

function kafkaString(text: string): Buffer {
  const length = Buffer.alloc(2);
  length.writeInt16BE(Buffer.byteLength(text));
  return Buffer.concat([length, Buffer.from(text)]);
}

/** Zigzag varint, as record fields use. */
function varint(n: number): Buffer {
  let z = (n << 1) ^ (n >> 31);
  const bytes: number[] = [];
  while (z & ~0x7f) {
    bytes.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  bytes.push(z);
  return Buffer.from(bytes);
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the record batch checksum. */
function crc32c(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
