import { makeTestS3Store, skipWithoutS3 } from '../testing/s3.js';
import { defineScenarios } from './scenarios.js';

defineScenarios('Swift S3', { makeStore: () => makeTestS3Store(), skip: skipWithoutS3 });
