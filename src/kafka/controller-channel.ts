// What a node sends the active controller, as Kafka's messages: a broker's own requests
// (BrokerRegistration, BrokerHeartbeat: R112–R119; AlterPartition: R126), both ways, and Envelope
// (KIP-590), in which a node passes a client's request on to the active controller (R148) and gets
// the controller's answer back as the bytes it relays to the client. Translation only: the decisions
// are spec/node's and the controller's.
import type {
  AlterPartitionRequest,
  AlterPartitionResponse,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
} from "../../spec/metadata/requests.ts";
import { MetadataErrorCode } from "../../spec/metadata/requests.ts";
import type { NodeResponse } from "../../spec/node/node.ts";
import type { MessageCodec } from "./codec.ts";
import { errorCode, errorName } from "./errors.ts";
import * as generated from "./generated/messages.ts";
import { type KafkaMessage, kafkaMessage } from "./raft-messages.ts";
import { KafkaDecodeError, safeNumber } from "./wire.ts";

/** A broker's own request to the controller. */
export type BrokerRequest = BrokerRegistrationRequest | BrokerHeartbeatRequest | AlterPartitionRequest;
export type BrokerResponse = BrokerRegistrationResponse | BrokerHeartbeatResponse | AlterPartitionResponse;

const METADATA_ERRORS: ReadonlySet<string> = new Set(MetadataErrorCode.literals);

/** A Kafka error code as the spec's controller names it; one it does not know is a decode error. */
const specError = (code: number): MetadataErrorCode => {
  const name = errorName(code);
  if (!METADATA_ERRORS.has(name))
    throw new KafkaDecodeError(`error code ${code} (${name}) is not one the controller answers`);
  return name as MetadataErrorCode;
};

const message = kafkaMessage;

export const BROKER_REGISTRATION = generated.BrokerRegistrationRequest.apiKey;
export const BROKER_HEARTBEAT = generated.BrokerHeartbeatRequest.apiKey;
export const ALTER_PARTITION = generated.AlterPartitionRequest.apiKey;
export const ENVELOPE = generated.EnvelopeRequest.apiKey;

/** Whether a request spec/node sends is a broker's own (not a client's it passes on). */
export const isBrokerRequest = (request: { readonly _tag: string }): request is BrokerRequest =>
  request._tag === "BrokerRegistrationRequest" ||
  request._tag === "BrokerHeartbeatRequest" ||
  request._tag === "AlterPartitionRequest";

// ---- requests ------------------------------------------------------------------------------------

export const kafkaBrokerRequest = (request: BrokerRequest): KafkaMessage => {
  switch (request._tag) {
    case "BrokerRegistrationRequest":
      return message(generated.BrokerRegistrationRequest, {
        ...generated.BrokerRegistrationRequest.defaults(),
        brokerId: request.brokerId,
        clusterId: request.clusterId,
        incarnationId: request.incarnationId,
        listeners: request.listeners.map((l) => ({ ...l })),
        features: request.features.map((f) => ({ ...f })),
        rack: request.rack,
        previousBrokerEpoch: BigInt(request.previousBrokerEpoch),
      });
    case "BrokerHeartbeatRequest":
      return message(generated.BrokerHeartbeatRequest, {
        ...generated.BrokerHeartbeatRequest.defaults(),
        brokerId: request.brokerId,
        brokerEpoch: BigInt(request.brokerEpoch),
        currentMetadataOffset: BigInt(request.currentMetadataOffset),
        wantFence: request.wantFence,
        wantShutDown: request.wantShutDown,
      });
    case "AlterPartitionRequest":
      return message(generated.AlterPartitionRequest, {
        brokerId: request.brokerId,
        brokerEpoch: BigInt(request.brokerEpoch),
        topics: request.topics.map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            leaderEpoch: p.leaderEpoch,
            newIsr: [],
            newIsrWithEpochs: p.newIsrWithEpochs.map((b) => ({
              brokerId: b.brokerId,
              brokerEpoch: BigInt(b.brokerEpoch),
            })),
            leaderRecoveryState: p.leaderRecoveryState,
            partitionEpoch: p.partitionEpoch,
          })),
        })),
      });
  }
};

/** A broker's request in Kafka's form as the spec's; `version` reads AlterPartition's ISR of either form. */
export const specBrokerRequest = (apiKey: number, data: unknown, version: number): BrokerRequest => {
  switch (apiKey) {
    case BROKER_REGISTRATION: {
      const r = data as generated.BrokerRegistrationRequestData;
      return {
        _tag: "BrokerRegistrationRequest",
        brokerId: r.brokerId,
        clusterId: r.clusterId,
        incarnationId: r.incarnationId,
        listeners: r.listeners.map((l) => ({
          name: l.name,
          host: l.host,
          port: l.port,
          securityProtocol: l.securityProtocol,
        })),
        features: r.features.map((f) => ({
          name: f.name,
          minSupportedVersion: f.minSupportedVersion,
          maxSupportedVersion: f.maxSupportedVersion,
        })),
        rack: r.rack,
        previousBrokerEpoch: safeNumber(r.previousBrokerEpoch, "previousBrokerEpoch"),
      };
    }
    case BROKER_HEARTBEAT: {
      const r = data as generated.BrokerHeartbeatRequestData;
      return {
        _tag: "BrokerHeartbeatRequest",
        brokerId: r.brokerId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
        currentMetadataOffset: safeNumber(r.currentMetadataOffset, "currentMetadataOffset"),
        wantFence: r.wantFence,
        wantShutDown: r.wantShutDown,
      };
    }
    case ALTER_PARTITION: {
      const r = data as generated.AlterPartitionRequestData;
      return {
        _tag: "AlterPartitionRequest",
        brokerId: r.brokerId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
        topics: r.topics.map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            leaderEpoch: p.leaderEpoch,
            // Before v3 the ISR is ids alone: their epochs are not checked (-1), as Kafka reads them.
            newIsrWithEpochs:
              version >= 3
                ? p.newIsrWithEpochs.map((b) => ({
                    brokerId: b.brokerId,
                    brokerEpoch: safeNumber(b.brokerEpoch, "brokerEpoch"),
                  }))
                : p.newIsr.map((brokerId) => ({ brokerId, brokerEpoch: -1 })),
            leaderRecoveryState: p.leaderRecoveryState,
            partitionEpoch: p.partitionEpoch,
          })),
        })),
      };
    }
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a broker's request to the controller`);
  }
};

// ---- responses -----------------------------------------------------------------------------------

/** The codec of the answer to a broker's request of `apiKey`. */
export const brokerResponseCodec = (apiKey: number): MessageCodec<unknown> => {
  switch (apiKey) {
    case BROKER_REGISTRATION:
      return generated.BrokerRegistrationResponse as MessageCodec<unknown>;
    case BROKER_HEARTBEAT:
      return generated.BrokerHeartbeatResponse as MessageCodec<unknown>;
    case ALTER_PARTITION:
      return generated.AlterPartitionResponse as MessageCodec<unknown>;
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a broker's request to the controller`);
  }
};

/**
 * The controller's answer to a broker's request in Kafka's form. A refusal the node gives itself
 * (an AdminResponse: no active controller known, say) carries its error code in the answer's own.
 */
export const kafkaBrokerResponse = (apiKey: number, response: NodeResponse): unknown => {
  const refused = response._tag === "AdminResponse" ? errorCode(response.errorCode) : 0;
  switch (apiKey) {
    case BROKER_REGISTRATION: {
      const r = response._tag === "BrokerRegistrationResponse" ? response : null;
      return {
        throttleTimeMs: 0,
        errorCode: r === null ? refused || errorCode("UNKNOWN_SERVER_ERROR") : errorCode(r.errorCode),
        brokerEpoch: BigInt(r?.brokerEpoch ?? -1),
      } satisfies generated.BrokerRegistrationResponseData;
    }
    case BROKER_HEARTBEAT: {
      const r = response._tag === "BrokerHeartbeatResponse" ? response : null;
      return {
        throttleTimeMs: 0,
        errorCode: r === null ? refused || errorCode("UNKNOWN_SERVER_ERROR") : errorCode(r.errorCode),
        isCaughtUp: r?.isCaughtUp ?? false,
        isFenced: r?.isFenced ?? true,
        shouldShutDown: r?.shouldShutDown ?? false,
      } satisfies generated.BrokerHeartbeatResponseData;
    }
    case ALTER_PARTITION: {
      const r = response._tag === "AlterPartitionResponse" ? response : null;
      return {
        throttleTimeMs: 0,
        errorCode: r === null ? refused || errorCode("UNKNOWN_SERVER_ERROR") : errorCode(r.errorCode),
        topics: (r?.topics ?? []).map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({ ...p, errorCode: errorCode(p.errorCode), isr: [...p.isr] })),
        })),
      } satisfies generated.AlterPartitionResponseData;
    }
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a broker's request to the controller`);
  }
};

/** The controller's answer in Kafka's form as the spec's. */
export const specBrokerResponse = (apiKey: number, data: unknown): BrokerResponse => {
  switch (apiKey) {
    case BROKER_REGISTRATION: {
      const r = data as generated.BrokerRegistrationResponseData;
      return {
        _tag: "BrokerRegistrationResponse",
        errorCode: specError(r.errorCode),
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
      };
    }
    case BROKER_HEARTBEAT: {
      const r = data as generated.BrokerHeartbeatResponseData;
      return {
        _tag: "BrokerHeartbeatResponse",
        errorCode: specError(r.errorCode),
        isCaughtUp: r.isCaughtUp,
        isFenced: r.isFenced,
        shouldShutDown: r.shouldShutDown,
      };
    }
    case ALTER_PARTITION: {
      const r = data as generated.AlterPartitionResponseData;
      return {
        _tag: "AlterPartitionResponse",
        errorCode: specError(r.errorCode),
        topics: r.topics.map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: specError(p.errorCode),
            leaderId: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            isr: p.isr,
            leaderRecoveryState: p.leaderRecoveryState,
            partitionEpoch: p.partitionEpoch,
          })),
        })),
      };
    }
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a broker's request to the controller`);
  }
};

// ---- Envelope (KIP-590) ----------------------------------------------------------------------------

/**
 * The client id of the requests a node sends the controller. An Envelope names the node that passes
 * the client's request on by it: the controller serves a passed-on request itself, never again (R148).
 */
export const nodeClientId = (nodeId: number): string => `kraft-node-${nodeId}`;

/** The node a client id names (nodeClientId), or null. */
export const nodeOfClientId = (clientId: string | null): number | null => {
  const match = clientId === null ? null : /^kraft-node-(\d{1,10})$/.exec(clientId);
  if (match === null) return null;
  const id = Number(match[1]);
  return id <= 0x7fffffff ? id : null;
};

/**
 * What a passed-on request's answer is to spec/node: an answer it relays as it is (R148), so the
 * bytes the controller rendered for the client travel inside it (base64, so traces stay JSON).
 */
export interface RelayedAnswer {
  readonly _tag: "RelayedKafkaAnswer";
  readonly bytes: string;
}

export const relayedAnswer = (responseData: Uint8Array): NodeResponse => ({
  _tag: "AdminResponse",
  errorCode: "NONE",
  errorMessage: null,
  body: {
    _tag: "RelayedKafkaAnswer",
    bytes: Buffer.from(responseData).toString("base64"),
  } satisfies RelayedAnswer,
});

/** The controller's bytes inside a relayed answer, or null for any other answer. */
export const relayedBytes = (response: NodeResponse): Buffer | null => {
  if (response._tag !== "AdminResponse") return null;
  const body = response.body as Partial<RelayedAnswer> | null;
  return body !== null &&
    typeof body === "object" &&
    body._tag === "RelayedKafkaAnswer" &&
    typeof body.bytes === "string"
    ? Buffer.from(body.bytes, "base64")
    : null;
};

/** A client's request (its header and message, as the client sent them) in an Envelope. */
export const envelopeRequest = (requestData: Uint8Array): generated.EnvelopeRequestData => ({
  requestData,
  requestPrincipal: null,
  clientHostAddress: new Uint8Array([127, 0, 0, 1]),
});
