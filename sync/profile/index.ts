/**
 * What admins keep in the bucket for users (DESIGN §1, §4): user profiles, preloaded user layers
 * and published org layers, and the reports that list them.
 *
 *   users/<userId>/profile   the profile: { version: 1, user, displayName, layers, updated }
 *                            (profile.ts); `layers` are the assigned org layers, lowest first
 *   layers/user/<userId>/…   the user layer (sync/repo); preload writes it as device `admin`
 *                            (or `admin-<name>`: no signed-in device has such an id)
 *   layers/org/<name>/…      org layers; each publish is a new snapshot (version) by `admin`
 *
 * What must hold:
 * - A profile read from the bucket is untrusted: size-capped before the GET, its JSON and schema
 *   validated (a known version, its own user id, org layer ids only, no duplicates), and every
 *   failure is a StrataError naming the profile's key. A missing profile is not an error: the user
 *   simply has no org layers (readProfile answers undefined; assignedLayers gives []).
 * - Only admins write profiles and admin heads. Admin writes into a layer are normal snapshots and
 *   heads in DESIGN §2's write order, so devices sync them like any other device's.
 * - Preloading never removes what a layer holds (preload.ts); publishing replaces an org layer's
 *   content with the folder's, as a new version whose parent is the previous one.
 * - One admin device id writes one head: admins working at the same time use different ids.
 */
export {
  PROFILE_VERSION,
  MAX_PROFILE_BYTES,
  MAX_PROFILE_LAYERS,
  MAX_DISPLAY_NAME,
  USERS_PREFIX,
  assignedLayers,
  checkUserId,
  decodeProfile,
  isOrgLayer,
  isUserId,
  profileKey,
  readProfile,
  validateProfile,
  writeProfile,
  type Profile,
} from './profile.js';
export { listUsers, listOrgLayers, USER_LAYERS_PREFIX, ORG_LAYERS_PREFIX, type Listed, type ListedUsers } from './users.js';
export { ADMIN_DEVICE, checkAdminDevice, isAdminDevice, preloadUserLayer, type LayerWriteOptions, type PreloadResult } from './preload.js';
export { publishOrgLayer, type PublishOptions, type PublishResult } from './publish.js';
export { isPublished, listSnapshotSizes, orgLayerReport, orgLayerReports, userReport, userReports, type AdminWrite, type DeviceSync, type LayerState, type OrgLayerReport, type UserReport } from './report.js';
