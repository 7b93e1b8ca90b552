// What a test file needs: the run's emulator (from run.js), SDK clients on it, and small assertion helpers.
import assert from "node:assert/strict";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { isRestError } from "@azure/core-rest-pipeline";

/** The connection string of the emulator started by run.js (tests are run through it, never alone). */
export function connectionString() {
  const value = process.env.ACS_EMULATOR_CONNECTION_STRING;
  if (!value) throw new Error("ACS_EMULATOR_CONNECTION_STRING is not set: run the tests with 'node run.js'");
  return value;
}

export function endpoint() {
  return /endpoint=([^;]+)/i.exec(connectionString())[1].replace(/\/$/, "");
}

export function identityClient(options) {
  return new CommunicationIdentityClient(connectionString(), options);
}

/**
 * A fresh user with a chat token and a ChatClient acting as that user, on the run's emulator or on `emulator`
 * (one a test file started itself); `client` are ChatClient options.
 */
export async function chatUser({ emulator, client } = {}) {
  const identity = emulator ? new CommunicationIdentityClient(emulator.connectionString) : identityClient();
  const { user, token, expiresOn } = await identity.createUserAndToken(["chat"]);
  const credential = new AzureCommunicationTokenCredential(token);
  return { user, token, expiresOn, chat: new ChatClient(emulator?.endpoint ?? endpoint(), credential, client) };
}

/** A ChatClient that presents `token` as it is. */
export function chatClientWithToken(token, options) {
  return new ChatClient(endpoint(), new AzureCommunicationTokenCredential(token), options);
}

/** Everything an SDK pager yields, in order. */
export async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Awaits `promise`, expecting the SDK to reject it with a RestError of `status`; returns that error. */
export async function restError(promise, status) {
  let error;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected a RestError ${status}, but the call succeeded`);
  assert.ok(isRestError(error), `expected a RestError, got ${error?.name}: ${error?.message}`);
  assert.equal(error.statusCode, status, error.message);
  return error;
}

export function assertDate(value, label = "value") {
  assert.ok(value instanceof Date, `${label} is a ${typeof value}, not a Date`);
  assert.ok(!Number.isNaN(value.getTime()), `${label} is an invalid Date`);
}

/** A raw ACS user id of this emulator, as the SDK returns it. */
export const ACS_USER = /^8:acs:[0-9a-f-]+_[0-9a-f-]+$/;
export const THREAD_ID = /^19:.+@thread\.v2$/;
