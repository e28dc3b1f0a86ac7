import { AwsServiceError, type JsonObject, optionalString, requireString } from '../aws-json';
import { parseS3Url } from './object-cache';
import type { StateStore, StoredWorkGroup } from './store';
import { optionalBoolean, optionalInteger, optionalObject, pageOf, validationError } from './validation';

export const EFFECTIVE_ENGINE_VERSION = 'Athena engine version 3';

/** The smallest BytesScannedCutoffPerQuery Athena accepts (10 MB). */
export const MIN_BYTES_SCANNED_CUTOFF = 10_000_000;

const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,128}$/;

/** Athena workgroups: output location, enforcement, per-query scan cutoff; `primary` always exists. */
export class WorkGroups {
  constructor(private readonly store: StateStore) {}

  /** The workgroup a query runs in; a missing one is the error StartQueryExecution gives. */
  require(name: string): StoredWorkGroup {
    const workGroup = this.store.state.workGroups[name];
    if (workGroup === undefined)
      throw new AwsServiceError('InvalidRequestException', `WorkGroup ${name} is not found.`);
    return workGroup;
  }

  create(input: JsonObject): JsonObject {
    const name = requireString(input, 'Name');
    if (!NAME_PATTERN.test(name)) {
      throw validationError(
        name,
        'name',
        `Member must satisfy regular expression pattern: ${NAME_PATTERN.source.slice(1, -1)}`,
      );
    }
    if (this.store.state.workGroups[name] !== undefined) {
      throw new AwsServiceError('InvalidRequestException', 'WorkGroup is already created');
    }
    const configuration = optionalObject(input, 'Configuration') ?? {};
    const result = optionalObject(configuration, 'ResultConfiguration') ?? {};
    const engine = optionalObject(configuration, 'EngineVersion') ?? {};
    const outputLocation = optionalString(result, 'OutputLocation');
    const expectedBucketOwner = optionalString(result, 'ExpectedBucketOwner');
    const cutoff = optionalInteger(
      configuration,
      'BytesScannedCutoffPerQuery',
      'configuration.bytesScannedCutoffPerQuery',
      {
        min: MIN_BYTES_SCANNED_CUTOFF,
      },
    );
    const description = optionalString(input, 'Description');
    const workGroup: StoredWorkGroup = {
      name,
      state: 'ENABLED',
      creationTime: Date.now() / 1000,
      enforceWorkGroupConfiguration: optionalBoolean(configuration, 'EnforceWorkGroupConfiguration') ?? false,
      publishCloudWatchMetricsEnabled:
        optionalBoolean(configuration, 'PublishCloudWatchMetricsEnabled') ?? false,
      requesterPaysEnabled: optionalBoolean(configuration, 'RequesterPaysEnabled') ?? false,
      selectedEngineVersion: optionalString(engine, 'SelectedEngineVersion') ?? 'AUTO',
      tags: tagsOf(input),
      ...(description !== undefined && { description }),
      ...(outputLocation !== undefined && { outputLocation: validOutputLocation(outputLocation) }),
      ...(expectedBucketOwner !== undefined && { expectedBucketOwner }),
      ...(cutoff !== undefined && { bytesScannedCutoffPerQuery: cutoff }),
    };
    this.store.state.workGroups[name] = workGroup;
    this.store.save();
    return {};
  }

  get(input: JsonObject): JsonObject {
    return { WorkGroup: workGroupShape(this.require(requireString(input, 'WorkGroup'))) };
  }

  list(input: JsonObject): JsonObject {
    const workGroups = Object.values(this.store.state.workGroups).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    const { items, nextToken } = pageOf(workGroups, input, 50);
    return {
      WorkGroups: items.map((workGroup) => ({
        Name: workGroup.name,
        State: workGroup.state,
        CreationTime: workGroup.creationTime,
        EngineVersion: engineVersion(workGroup),
        ...(workGroup.description !== undefined && { Description: workGroup.description }),
      })),
      ...(nextToken !== undefined && { NextToken: nextToken }),
    };
  }

  delete(input: JsonObject): JsonObject {
    const name = requireString(input, 'WorkGroup');
    if (name === 'primary')
      throw new AwsServiceError('InvalidRequestException', 'Cannot delete the primary workgroup.');
    this.require(name);
    delete this.store.state.workGroups[name];
    this.store.save();
    return {};
  }

  update(input: JsonObject): JsonObject {
    const workGroup = this.require(requireString(input, 'WorkGroup'));
    const description = optionalString(input, 'Description');
    if (description !== undefined) workGroup.description = description;
    const state = optionalString(input, 'State');
    if (state !== undefined) {
      if (state !== 'ENABLED' && state !== 'DISABLED') {
        throw validationError(state, 'state', 'Member must satisfy enum value set: [ENABLED, DISABLED]');
      }
      workGroup.state = state;
    }
    const updates = optionalObject(input, 'ConfigurationUpdates') ?? {};
    const enforce = optionalBoolean(updates, 'EnforceWorkGroupConfiguration');
    if (enforce !== undefined) workGroup.enforceWorkGroupConfiguration = enforce;
    const publish = optionalBoolean(updates, 'PublishCloudWatchMetricsEnabled');
    if (publish !== undefined) workGroup.publishCloudWatchMetricsEnabled = publish;
    const requesterPays = optionalBoolean(updates, 'RequesterPaysEnabled');
    if (requesterPays !== undefined) workGroup.requesterPaysEnabled = requesterPays;
    const cutoff = optionalInteger(
      updates,
      'BytesScannedCutoffPerQuery',
      'configurationUpdates.bytesScannedCutoffPerQuery',
      {
        min: MIN_BYTES_SCANNED_CUTOFF,
      },
    );
    if (cutoff !== undefined) workGroup.bytesScannedCutoffPerQuery = cutoff;
    if (optionalBoolean(updates, 'RemoveBytesScannedCutoffPerQuery') === true)
      delete workGroup.bytesScannedCutoffPerQuery;
    const engine = optionalObject(updates, 'EngineVersion');
    const selected = engine === undefined ? undefined : optionalString(engine, 'SelectedEngineVersion');
    if (selected !== undefined) workGroup.selectedEngineVersion = selected;
    const result = optionalObject(updates, 'ResultConfigurationUpdates') ?? {};
    const outputLocation = optionalString(result, 'OutputLocation');
    if (outputLocation !== undefined) workGroup.outputLocation = validOutputLocation(outputLocation);
    if (optionalBoolean(result, 'RemoveOutputLocation') === true) delete workGroup.outputLocation;
    const owner = optionalString(result, 'ExpectedBucketOwner');
    if (owner !== undefined) workGroup.expectedBucketOwner = owner;
    if (optionalBoolean(result, 'RemoveExpectedBucketOwner') === true) delete workGroup.expectedBucketOwner;
    this.store.save();
    return {};
  }
}

export function engineVersion(workGroup: StoredWorkGroup): JsonObject {
  return {
    SelectedEngineVersion: workGroup.selectedEngineVersion,
    EffectiveEngineVersion: EFFECTIVE_ENGINE_VERSION,
  };
}

function workGroupShape(workGroup: StoredWorkGroup): JsonObject {
  return {
    Name: workGroup.name,
    State: workGroup.state,
    CreationTime: workGroup.creationTime,
    ...(workGroup.description !== undefined && { Description: workGroup.description }),
    Configuration: {
      ResultConfiguration: {
        ...(workGroup.outputLocation !== undefined && { OutputLocation: workGroup.outputLocation }),
        ...(workGroup.expectedBucketOwner !== undefined && {
          ExpectedBucketOwner: workGroup.expectedBucketOwner,
        }),
      },
      EnforceWorkGroupConfiguration: workGroup.enforceWorkGroupConfiguration,
      PublishCloudWatchMetricsEnabled: workGroup.publishCloudWatchMetricsEnabled,
      RequesterPaysEnabled: workGroup.requesterPaysEnabled,
      EngineVersion: engineVersion(workGroup),
      ...(workGroup.bytesScannedCutoffPerQuery !== undefined && {
        BytesScannedCutoffPerQuery: workGroup.bytesScannedCutoffPerQuery,
      }),
    },
  };
}

/** Athena's message for an output location that is not `s3://bucket[/prefix]`. */
export function validOutputLocation(location: string): string {
  if (parseS3Url(location) === undefined) {
    throw new AwsServiceError('InvalidRequestException', 'outputLocation is not a valid S3 path.');
  }
  return location;
}

function tagsOf(input: JsonObject): { Key: string; Value: string }[] {
  const tags = input.Tags;
  if (!Array.isArray(tags)) return [];
  return tags.flatMap((tag: unknown) =>
    typeof tag === 'object' && tag !== null && 'Key' in tag && typeof tag.Key === 'string'
      ? [{ Key: tag.Key, Value: 'Value' in tag && typeof tag.Value === 'string' ? tag.Value : '' }]
      : [],
  );
}
